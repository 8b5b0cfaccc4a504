"""A conversation as the agent sees it: the turns so far and the subject in focus, and the update
one turn makes to it (returned by `Assistant.respond`, applied by whoever stores conversations)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class ConversationUpdate:
    """What one turn adds: its customer and bot turns, and the focus from now on (which store,
    product and language the customer is talking about)."""

    turns: tuple[Turn, ...]
    focus: dict[str, str]
    held_by: str | None = None  # the handoff reason that holds the conversation from now on (if any)


@dataclass
class Conversation:
    """Turns in order and the store/product the customer is talking about, for follow-ups."""

    id: str
    turns: list[Turn] = field(default_factory=list)
    focus: dict[str, str] = field(default_factory=dict)  # e.g. {"store": "store:leeds"}
    # A handoff that holds the conversation until a person resolves it (`HandoffReason.holds`):
    # set by the turn that opened it. The service keeps its own handoff table and does not call
    # the assistant while one holds; an in-process caller (the evals) carries it here.
    held_by: str | None = None

    def customer_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.role == "customer"]

    def updated(self, update: ConversationUpdate) -> Conversation:
        """A new conversation with the update applied (this one is left as it was)."""
        return replace(self, turns=[*self.turns, *update.turns], focus=dict(update.focus), held_by=update.held_by)
