"""Freshness verdicts and conflicts: which facts can be presented as current, and who wins when
sources disagree.

Every fact gets one verdict, judged at `now` in the brand's timezone (first rule that applies):

1. **expired** — it has a validity window (a promotion, special hours) that ended before today.
2. **superseded** — its subject is in conflict and its value differs from the winner's.
3. **stale** — it is older than the max age for its kind (see `max_age_for`), or it has no
   date at all and its kind is one where a date matters (hours, prices, availability), *unless*
   a fresh fact of at least equal authority on the same subject says the same thing: then the
   value is current and the verdict is fresh (the reason says who corroborated it).
4. **fresh** — everything else.

Undated facts from structured feeds (product and locations sources) are dated by the time the
feed was read: a feed is pulled from the system of record at each sync.

**Winner** of a subject: among its facts that are not expired, the highest authority first
(`SourceSpec.effective_authority`: store/product feed 40 > website 20 > FAQ 10 > blog 5, set per
source with `authority:`), then the newest `effective_at`. Values compare after normalisation
(`knowledge.facts.same_value`). A **conflict** is a subject whose usable facts disagree with the
winner; facts that agree with the winner are not superseded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from knowledge.documents import Document
from knowledge.facts import Fact, StoreRef, extract_facts, same_value, store_directory
from knowledge.manifest import Manifest

FreshnessStatus = Literal["fresh", "stale", "expired", "superseded"]

DEFAULT_MAX_AGE_DAYS: dict[str, int] = {
    "hours": 180,
    "special_hours": 365,
    "price": 30,
    "availability": 30,
    "promotion": 365,
    "policy": 365,
    "default": 365,
}
# Kinds whose value changes often enough that an undated statement cannot be trusted as current.
DATE_MATTERS = frozenset({"hours", "price", "availability"})
# Sources read from a system of record at every sync: undated rows are as of the sync.
FEED_TYPES = frozenset({"products", "locations"})
SOURCE_LABELS = {"locations": "store feed", "products": "product feed", "website": "website", "faq": "FAQ"}


@dataclass(frozen=True)
class FreshnessVerdict:
    status: FreshnessStatus
    reason: str
    age_days: int | None
    max_age_days: int | None
    # Older than its max age (or undated where a date matters), whatever the status: a
    # superseded fact can be outdated too, and the health report lists it for its document.
    outdated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "age_days": self.age_days,
            "max_age_days": self.max_age_days,
        }


@dataclass(frozen=True)
class Conflict:
    subject: str
    kind: str
    sides: list[Fact]  # every usable fact on the subject, winner first
    winner: Fact
    why: str  # "store feed (authority 40) beats FAQ (10)" / "newer (2026-11-20) beats older (2026-10-01)"

    @property
    def losers(self) -> list[Fact]:
        return [f for f in self.sides if not same_value(self.kind, f.value, self.winner.value)]


@dataclass
class KnowledgeState:
    facts: list[Fact]
    verdicts: dict[str, FreshnessVerdict]  # by Fact.id
    conflicts: list[Conflict]
    stores: list[StoreRef]
    tz: ZoneInfo
    now: datetime
    _by_subject: dict[str, list[Fact]] = field(default_factory=dict, repr=False)
    _winners: dict[str, Fact] = field(default_factory=dict, repr=False)
    _conflicts: dict[str, Conflict] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self._by_subject:
            for fact in self.facts:
                self._by_subject.setdefault(fact.subject, []).append(fact)
        if not self._conflicts:
            self._conflicts = {c.subject: c for c in self.conflicts}
        if not self._winners:
            for subject, group in self._by_subject.items():
                usable = [f for f in group if self.verdicts[f.id].status != "expired"]
                if usable:
                    self._winners[subject] = max(usable, key=_rank)

    def facts_for(self, subject_prefix: str) -> list[Fact]:
        """Every fact whose subject starts with the prefix ("store:torino:", "promotion:"),
        most trusted first within a subject."""
        out = [f for s, facts in self._by_subject.items() if s.startswith(subject_prefix) for f in facts]
        return sorted(out, key=lambda f: (f.subject, -f.authority, -_timestamp(f)))

    def winner(self, subject: str) -> Fact | None:
        """The fact to trust for a subject (possibly stale: check `verdict`); None when every fact
        on it has expired or there is none."""
        return self._winners.get(subject)

    def verdict(self, fact: Fact) -> FreshnessVerdict:
        return self.verdicts[fact.id]

    def conflict(self, subject: str) -> Conflict | None:
        return self._conflicts.get(subject)

    def subjects(self) -> list[str]:
        return sorted(self._by_subject)


def max_age_for(kind: str, source_id: str, manifest: Manifest) -> int:
    """Days a fact of `kind` stays fresh. Most specific first: the source's value for the kind,
    the manifest's value for the kind, the source's 'default', the manifest's 'default', then
    `DEFAULT_MAX_AGE_DAYS`."""
    spec = next((s for s in manifest.sources if s.id == source_id), None)
    source_ages = spec.max_age_days if spec is not None else {}
    for table, key in (
        (source_ages, kind),
        (manifest.max_age_days, kind),
        (source_ages, "default"),
        (manifest.max_age_days, "default"),
        (DEFAULT_MAX_AGE_DAYS, kind),
    ):
        if key in table:
            return int(table[key])
    return DEFAULT_MAX_AGE_DAYS["default"]


def assess_knowledge(documents: Iterable[Document], manifest: Manifest, *, now: datetime) -> KnowledgeState:
    """Facts of all documents with their verdicts, winners and conflicts at `now`."""
    if now.tzinfo is None:
        raise ValueError("assess_knowledge needs a timezone-aware `now`")
    docs = list(documents)
    tz = manifest.tz
    today = now.astimezone(tz).date()
    facts = extract_facts(docs, manifest)
    fetched = {d.doc_id: d.fetched_at for d in docs}
    labels = {s.id: ("blog" if s.blog else SOURCE_LABELS.get(s.type, s.type)) for s in manifest.sources}

    by_subject: dict[str, list[Fact]] = {}
    for fact in facts:
        by_subject.setdefault(fact.subject, []).append(fact)

    expired = {f.id for f in facts if f.valid_through is not None and f.valid_through < today}
    ages = {f.id: _age(f, fetched.get(f.doc_id), tz, today, manifest) for f in facts}

    winners: dict[str, Fact] = {}
    conflicts: list[Conflict] = []
    superseded: dict[str, Fact] = {}  # fact id → the winner that beats it
    for subject, group in by_subject.items():
        usable = [f for f in group if f.id not in expired]
        if not usable:
            continue
        ranked = sorted(usable, key=_rank, reverse=True)
        winner = ranked[0]
        winners[subject] = winner
        losers = [f for f in ranked[1:] if not same_value(f.kind, f.value, winner.value)]
        if losers:
            conflicts.append(
                Conflict(subject, winner.kind, ranked, winner, _why(winner, losers[0], labels, tz))
            )
            for loser in losers:
                superseded[loser.id] = winner

    verdicts: dict[str, FreshnessVerdict] = {}
    for fact in facts:
        age_days, max_age, outdated, age_reason = ages[fact.id]
        if fact.id in expired:
            verdicts[fact.id] = FreshnessVerdict(
                "expired",
                f"valid through {fact.valid_through}, before today ({today})",
                age_days,
                max_age,
                outdated,
            )
        elif fact.id in superseded:
            w = superseded[fact.id]
            verdicts[fact.id] = FreshnessVerdict(
                "superseded",
                f"{_label(w, labels)} ({_day(w.effective_at, tz) or 'undated'}, authority {w.authority})"
                f" says {w.display}",
                age_days,
                max_age,
                outdated,
            )
        elif outdated:
            backer = _corroborator(fact, by_subject[fact.subject], ages, expired)
            if backer is not None:
                verdicts[fact.id] = FreshnessVerdict(
                    "fresh",
                    f"{age_reason}, but {_label(backer, labels)} ({_day(backer.effective_at, tz) or 'undated'})"
                    " says the same",
                    age_days,
                    max_age,
                    outdated,
                )
            else:
                verdicts[fact.id] = FreshnessVerdict("stale", age_reason, age_days, max_age, outdated)
        else:
            verdicts[fact.id] = FreshnessVerdict("fresh", age_reason, age_days, max_age, outdated)

    conflicts.sort(key=lambda c: c.subject)
    return KnowledgeState(
        facts=facts,
        verdicts=verdicts,
        conflicts=conflicts,
        stores=store_directory(docs),
        tz=tz,
        now=now,
        _by_subject=by_subject,
        _winners=winners,
    )


def _age(
    fact: Fact, fetched_at: datetime | None, tz: ZoneInfo, today: date, manifest: Manifest
) -> tuple[int | None, int, bool, str]:
    """(age in days, max age, outdated?, reason)."""
    max_age = max_age_for(fact.kind, fact.source_id, manifest)
    moment = fact.effective_at
    basis = "dated"
    if moment is None and fact.source_type in FEED_TYPES and fetched_at is not None:
        moment, basis = fetched_at, "undated feed read on"
    if moment is None:
        if fact.kind in DATE_MATTERS:
            return None, max_age, True, f"undated: {fact.kind} without a date cannot be trusted as current"
        return None, max_age, False, f"undated (a date is not required for {fact.kind})"
    day = moment.astimezone(tz).date() if moment.tzinfo else moment.date()
    age = (today - day).days
    if age > max_age:
        return (
            age,
            max_age,
            True,
            f"{basis} {day}, {age} days old; {fact.kind} older than {max_age} days is stale",
        )
    return age, max_age, False, f"{basis} {day}, {age} days old (limit {max_age})"


def _corroborator(
    fact: Fact, group: list[Fact], ages: dict[str, tuple[int | None, int, bool, str]], expired: set[str]
) -> Fact | None:
    backers = [
        other
        for other in group
        if other.id != fact.id
        and other.id not in expired
        and not ages[other.id][2]
        and other.authority >= fact.authority
        and same_value(fact.kind, other.value, fact.value)
    ]
    return max(backers, key=_rank) if backers else None


def _rank(fact: Fact) -> tuple[int, float, int, str]:
    # Full hours beat a bare "closes at" only when authority and date are equal; doc_id keeps
    # the order deterministic.
    partial = fact.kind in ("hours", "special_hours") and any(None in pair for pair in fact.value or [])
    return fact.authority, _timestamp(fact), 0 if partial else 1, fact.doc_id


def _timestamp(fact: Fact) -> float:
    return fact.effective_at.timestamp() if fact.effective_at else float("-inf")


def _label(fact: Fact, labels: dict[str, str]) -> str:
    kind = labels.get(fact.source_id, SOURCE_LABELS.get(fact.source_type, fact.source_type))
    return f"{kind} '{fact.source_id}'"


def _day(moment: datetime | None, tz: ZoneInfo) -> str | None:
    if moment is None:
        return None
    return (moment.astimezone(tz) if moment.tzinfo else moment).date().isoformat()


def _why(winner: Fact, loser: Fact, labels: dict[str, str], tz: ZoneInfo) -> str:
    if winner.authority != loser.authority:
        return (
            f"{_label(winner, labels)} (authority {winner.authority}) beats"
            f" {_label(loser, labels)} ({loser.authority})"
        )
    w_day, l_day = _day(winner.effective_at, tz), _day(loser.effective_at, tz)
    if w_day and (l_day is None or w_day != l_day):
        return f"newer ({w_day}) beats older ({l_day or 'undated'}) at equal authority ({winner.authority})"
    return f"equal authority and date: {_label(winner, labels)} kept; fix one of the two"
