"""Time-aware answers about stores: their week as the winning facts say, and "is it open at …".

Only winning facts are used (`KnowledgeState.winner`), so a superseded page never decides an
answer; special hours of a date apply before the regular hours of its weekday (`status_at`).
A winning statement that gives only a closing time ("il sabato chiude alle 19") cannot build a
day on its own: the most trusted full hours that agree with it are used instead, and without
them the day is left unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from knowledge.facts import Fact, StoreRef, ranges_of, same_value
from knowledge.hours import OpenStatus, SpecialHours, TimeRange, WeeklyHours, status_at
from knowledge.trust.freshness import KnowledgeState


@dataclass(frozen=True)
class StoreStatus:
    store: StoreRef
    at: datetime
    status: OpenStatus
    facts: list[Fact]  # the facts that decided: the day's special or weekday hours (and the day before's)
    rule: str  # "special" | "regular" | "unknown"


def store_week(
    state: KnowledgeState, store_key: str
) -> tuple[WeeklyHours | None, list[SpecialHours], list[Fact]]:
    """Regular hours, special hours (dates not yet past) and the facts they came from."""
    used: list[Fact] = []
    days: dict[int, tuple[TimeRange, ...]] = {}
    for weekday in range(7):
        found = _day_ranges(state, f"store:{store_key}:weekday:{weekday}")
        if found is not None:
            days[weekday], fact = found
            used.append(fact)
    specials: list[SpecialHours] = []
    prefix = f"store:{store_key}:special:"
    for subject in sorted({f.subject for f in state.facts_for(prefix)}):
        found = _day_ranges(state, subject)
        if found is None:
            continue
        ranges, fact = found
        day = date.fromisoformat(subject.removeprefix(prefix))
        specials.append(SpecialHours(day, day, ranges))
        used.append(fact)
    return (WeeklyHours(days) if days else None), specials, used


def store_status(state: KnowledgeState, store_key: str, at: datetime) -> StoreStatus:
    """Open or closed at `at` (converted to the brand timezone), until when, and why."""
    store = next((s for s in state.stores if s.key == store_key), None)
    if store is None:
        known = ", ".join(s.key for s in state.stores) or "none"
        raise KeyError(f"no store {store_key!r} in the knowledge (known stores: {known})")
    local = at.astimezone(state.tz)
    weekly, specials, facts = store_week(state, store_key)
    status = status_at(weekly, specials, local)
    # Today's hours decide, and yesterday's when a range runs past midnight.
    deciding = [f for day in (local.date(), local.date() - timedelta(days=1)) for f in _deciding(facts, day)]
    return StoreStatus(store, local, status, deciding, status.rule)


def _deciding(facts: list[Fact], day: date) -> list[Fact]:
    special = [f for f in facts if f.kind == "special_hours" and f.valid_from == day]
    if special:
        return special
    return [f for f in facts if f.kind == "hours" and f.subject.endswith(f":weekday:{day.weekday()}")]


def _day_ranges(state: KnowledgeState, subject: str) -> tuple[tuple[TimeRange, ...], Fact] | None:
    winner = state.winner(subject)
    if winner is None:
        return None
    ranges = ranges_of(winner.value)
    if ranges is not None:
        return ranges, winner
    # A partial winner ("closes at 19:00"): the best full statement that agrees with it.
    for fact in state.facts_for(subject):
        if fact.subject != subject or state.verdict(fact).status == "expired":
            continue
        full = ranges_of(fact.value)
        if full is not None and same_value(fact.kind, fact.value, winner.value):
            return full, fact
    return None
