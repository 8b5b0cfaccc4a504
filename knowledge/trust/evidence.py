"""The agent's contract with the knowledge: which facts to trust for an answer, what to warn
about, and whether the evidence is enough.

Call ``assess_evidence(passages, state, subjects=...)`` with the passages retrieved for a
question and, when the question's subject is known, subject prefixes such as
``"store:torino:"``, ``"store:torino:weekday:6"``, ``"product:VB-EB-TORRE:"`` or
``"policy:free_shipping_threshold"`` (`state` is `knowledge.freshness.assess_knowledge(...)` at
the turn's `now`). It gathers the facts of the passages' documents plus every fact on those
subjects from any document, then, subject by subject:

- **expired** facts (a promotion or special hours whose dates are over) are dropped, with an
  ``expired`` warning carrying the fact (its `valid_through` says when it ended);
- if the subject is **in conflict**, the winner replaces every superseded value, and one
  ``conflict`` warning names both sides: `facts[0]` is the winner, the rest the values it beats
  (each with `source_id`, `url`, `title`, `effective_at`, `display`). The warning is raised when
  a losing value is among the passages' facts or the subject was asked for in `subjects`, not
  when only the winning document was retrieved;
- if the winner itself is **stale** (too old for its kind and not corroborated), it stays in
  `facts` only because nothing better exists, with a ``stale`` warning; the answer must then say
  the information may be out of date (and offer a human) rather than present it as current;
- otherwise the winner (plus fresh facts that agree with it) goes into `facts`.

`stale_doc_ids` are documents with a stale, expired or superseded fact among those judged:
passages from them must be cited as possibly outdated and their text must not be presented as
current (quote the winning fact instead).

`enough` is False when what remains cannot support a current answer: some judged subject's best
evidence is stale, or every judged fact was expired. With no facts to judge at all (a passage
about something that is not a fact, e.g. how to assemble a bike) it is True when there are
passages: the trust layer has no objection, and the agent judges coverage itself.

`TrustWarning.detail` is a neutral English sentence for logs and reports; the agent writes the
customer-facing text itself from `facts`, in the customer's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Literal, Protocol

from knowledge.facts import Fact, same_value
from knowledge.trust.freshness import KnowledgeState

WarningKind = Literal["stale", "expired", "conflict"]


class FromDocument(Protocol):
    """Anything taken from one document: a retrieved passage, a citation's source."""

    @property
    def doc_id(self) -> str: ...


@dataclass(frozen=True)
class TrustWarning:
    kind: WarningKind
    subject: str
    detail: str
    sources: list[str]  # url (or source id) of each fact, winner first for a conflict
    facts: list[Fact]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "detail": self.detail,
            "sources": self.sources,
            "facts": [f.to_dict() for f in self.facts],
        }


@dataclass(frozen=True)
class TrustAssessment:
    facts: list[Fact]  # facts to trust: winners (fresh, or stale when nothing better exists)
    warnings: list[TrustWarning]
    enough: bool
    stale_doc_ids: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {
            "facts": [f.to_dict() for f in self.facts],
            "warnings": [w.to_dict() for w in self.warnings],
            "enough": self.enough,
            "stale_doc_ids": sorted(self.stale_doc_ids),
        }


def assess_evidence(
    passages: Sequence[FromDocument], state: KnowledgeState, *, subjects: list[str] | None = None
) -> TrustAssessment:
    """Facts to trust, warnings and sufficiency for the passages (and subjects) of one answer."""
    doc_ids = {p.doc_id for p in passages}
    prefixes = [s for s in subjects or [] if s]
    candidates: dict[str, Fact] = {}
    for fact in state.facts:
        if fact.doc_id in doc_ids or any(fact.subject.startswith(p) for p in prefixes):
            candidates.setdefault(fact.id, fact)
    if not candidates:
        return TrustAssessment([], [], bool(passages), set())

    by_subject: dict[str, list[Fact]] = {}
    for fact in candidates.values():
        by_subject.setdefault(fact.subject, []).append(fact)

    trusted: list[Fact] = []
    warnings: list[TrustWarning] = []
    stale_docs: set[str] = set()
    stale_winner = False
    for subject, group in by_subject.items():
        statuses = {f.id: state.verdict(f).status for f in group}
        stale_docs |= {f.doc_id for f in group if statuses[f.id] != "fresh"}
        expired = [f for f in group if statuses[f.id] == "expired"]
        if expired:
            warnings.append(_expired_warning(subject, expired))
        conflict = state.conflict(subject)
        requested = any(subject.startswith(p) for p in prefixes)
        # A conflict matters to this answer when a losing value is in the evidence or the agent
        # asked about the subject; a passage from the winning document alone shows nothing wrong.
        if conflict is not None and (requested or any(statuses[f.id] == "superseded" for f in group)):
            warnings.append(
                _conflict_warning(subject, conflict.winner, conflict.losers, conflict.why, state.tz)
            )
        winner = state.winner(subject)
        if winner is None:
            continue
        verdict = state.verdict(winner)
        if verdict.status == "stale":
            stale_winner = True
            stale_docs.add(winner.doc_id)
            warnings.append(_stale_warning(subject, winner, verdict.reason))
            trusted.append(winner)
            continue
        trusted.append(winner)
        trusted += [
            f
            for f in group
            if f.id != winner.id and statuses[f.id] == "fresh" and same_value(f.kind, f.value, winner.value)
        ]
    enough = bool(trusted) and not stale_winner
    return TrustAssessment(trusted, warnings, enough, stale_docs)


def _where(fact: Fact) -> str:
    return fact.url or fact.source_id


def _dated(fact: Fact, tz: tzinfo) -> str:
    return fact.effective_at.astimezone(tz).date().isoformat() if fact.effective_at else "undated"


def _expired_warning(subject: str, facts: list[Fact]) -> TrustWarning:
    ends = sorted({f.valid_through.isoformat() for f in facts if f.valid_through})
    detail = f"{facts[0].kind} {subject} ({facts[0].display}) ended on {', '.join(ends)}; it is not current"
    return TrustWarning("expired", subject, detail, _sources(facts), facts)


def _conflict_warning(subject: str, winner: Fact, losers: list[Fact], why: str, tz: tzinfo) -> TrustWarning:
    beaten = "; ".join(f"{f.source_id} ({_dated(f, tz)}) says {f.display}" for f in losers)
    detail = (
        f"sources disagree on {subject}: {winner.source_id} ({_dated(winner, tz)}) says {winner.display};"
        f" {beaten}; {why}"
    )
    return TrustWarning("conflict", subject, detail, _sources([winner, *losers]), [winner, *losers])


def _stale_warning(subject: str, fact: Fact, reason: str) -> TrustWarning:
    detail = f"{subject} ({fact.display}) comes only from {fact.source_id} at {_where(fact)}: {reason}"
    return TrustWarning("stale", subject, detail, _sources([fact]), [fact])


def _sources(facts: list[Fact]) -> list[str]:
    return list(dict.fromkeys(_where(f) for f in facts))
