"""A conversation as the agent sees it: the turns so far and the subject in focus."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Role = Literal["customer", "bot", "operator"]


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str
    at: datetime | None = None
    grounded: bool | None = None  # for bot turns: was the reply grounded
    intent: str | None = None


@dataclass
class Conversation:
    """Turns in order and the store/product the customer is talking about, for follow-ups.

    Mutable on purpose: it is the one piece of per-conversation state; the API persists it.
    """

    id: str
    turns: list[Turn] = field(default_factory=list)
    focus: dict[str, str] = field(default_factory=dict)  # e.g. {"store": "store:padova"}

    def customer_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == "customer"]
