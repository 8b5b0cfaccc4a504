"""What the agent returns for one customer message: the boundary every channel and eval reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

WarningKind = Literal["stale", "expired", "conflict"]


class HandoffReason(StrEnum):
    """Why a conversation goes to a person: a fixed list, so dashboards can count them."""

    HUMAN_REQUESTED = "human_requested"
    MEDICAL = "medical"
    INJURY = "injury"
    LEGAL = "legal"
    SAFETY = "safety"
    COMPLAINT = "complaint"
    NO_ANSWER = "no_answer"
    REPEATED_FAILURE = "repeated_failure"
    STALE_INFORMATION = "stale_information"
    REQUESTED_EXTERNALLY = "requested_externally"
    INTERNAL_ERROR = "internal_error"  # the turn failed on our side: the message waits for a person

    @property
    def holds(self) -> bool:
        """Whether the bot falls silent until a person resolves: the customer asked for one, or the
        topic needs one. After the others (no answer, stale information, an error) the bot keeps
        answering what it can ground while the handoff waits; the handoff keeps the transcript."""
        return self in HOLDING_REASONS


HOLDING_REASONS = frozenset({
    HandoffReason.HUMAN_REQUESTED, HandoffReason.MEDICAL, HandoffReason.INJURY, HandoffReason.LEGAL,
    HandoffReason.SAFETY, HandoffReason.COMPLAINT, HandoffReason.REQUESTED_EXTERNALLY,
})


@dataclass(frozen=True)
class Citation:
    source_id: str
    url: str | None
    title: str
    updated_at: datetime | None
    stale: bool = False


@dataclass(frozen=True)
class Warning:
    """A caution shown to the customer (detail is customer-facing prose, not a log line)."""

    kind: WarningKind
    detail: str
    sources: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Handoff:
    reason: HandoffReason
    summary: str
    language: str
    evidence: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reply:
    text: str
    language: str
    grounded: bool
    citations: list[Citation] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    handoff: Handoff | None = None
    # Diagnostics for evals and logs (intent, composer used, retrieved chunk ids); not shown to customers.
    trace: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for citation in out["citations"]:
            if citation["updated_at"] is not None:
                citation["updated_at"] = citation["updated_at"].isoformat()
        if out["handoff"] is not None:
            out["handoff"]["reason"] = str(out["handoff"]["reason"])
        return out
