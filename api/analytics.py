"""Care analytics over a period, computed in SQL from the stored turns, handoffs and feedback.

Every figure is about one cohort: the conversations *started* in [since, until). Their handoffs,
replies and ratings count wherever they happened, so each rate's numerator is a subset of its
denominator (a handoff of last week's conversation does not inflate this week's rate):

- contained rate: conversations with at least one grounded bot reply and no handoff at all,
  divided by conversations;
- handoffs by reason; operators' first response: from a handoff opening to the first operator
  message after it (p50 / p90, nearest rank);
- CSAT: count, mean and distribution of ratings, split by whether a person took part (a handoff
  of the conversation was claimed) or the bot alone answered;
- repeat contact: resolved handoffs after which the same customer (user id on the same channel)
  wrote again within 72 hours of the resolve;
- unanswered questions: customer messages whose reply was not grounded (dialogue acts and
  handoffs for other reasons excluded), grouped by meaning with the bundled embedder;
- most cited sources and warnings by kind, over the cohort's bot replies.

Replies are read from their JSON once, into narrow tables (`reply_facts`, `reply_items`, filled by
`catch_up` at the start of each report), so a report scans small rows by the cohort's start time
instead of parsing every reply of the period each time.

The SQL runs on SQLite and PostgreSQL; the few dialect differences (seconds between two times,
a time plus 72 hours, expanding a JSON array) are spelled once each below. The indexes that keep
a period of 100,000 conversations under a second are in migration 0012 (benchmarks/analytics.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from sqlalchemy import and_, case, exists, func, insert, literal_column, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from api import models
from api.db import rows_affected
from api.errors import InvalidPeriod
from api.runtime import Runtime

REPEAT_WINDOW = timedelta(hours=72)
# Reasons that mean "the knowledge base had no answer": their messages are unanswered questions.
NO_ANSWER_REASONS = ("no_answer", "repeated_failure", "stale_information")
CLUSTERED_TEXTS = 300  # distinct unanswered texts embedded at most (the most frequent ones)
EXAMPLES = 3


class QuestionEmbedder(Protocol):
    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


def question_embedder(runtime: Runtime) -> QuestionEmbedder | None:
    """The service's embedder, to group unanswered questions by meaning (None if it cannot load)."""
    try:
        embedder: QuestionEmbedder = runtime.embedder()
    except Exception:  # grouping is a bonus: the figures stand without it
        return None
    return embedder


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    def __post_init__(self) -> None:
        if self.since >= self.until:
            raise InvalidPeriod(f"since ({self.since.isoformat()}) must be before until ({self.until.isoformat()})")


def report(session: Session, period: Period, *, embedder: QuestionEmbedder | None = None) -> dict[str, Any]:
    """Every figure of the period, as JSON values (the shape of GET /v1/analytics)."""
    dialect = session.get_bind().dialect.name
    catch_up(session)
    conversations, contained = _containment(session, period)
    handoffs = _handoffs_by_reason(session, period)
    unanswered = _unanswered(session, period)
    return {
        "period": {"since": period.since.isoformat(), "until": period.until.isoformat()},
        "conversations": conversations,
        "contained": contained,
        "contained_rate": round(contained / conversations, 4) if conversations else None,
        "handoffs": {"total": sum(handoffs.values()), "by_reason": handoffs},
        "first_response_seconds": _first_response(session, period, dialect),
        "csat": _csat(session, period),
        "repeat_contact": _repeat_contact(session, period, dialect),
        "unanswered": {
            "messages": sum(count for _, count in unanswered),
            "clusters": cluster_questions(unanswered, embedder) if embedder is not None else [],
        },
        "cited_sources": [{"source_id": v, "count": n} for v, n in _item_counts(session, period, "citation")],
        "warnings_by_kind": [{"kind": v, "count": n} for v, n in _item_counts(session, period, "warning")],
    }


# --- the cohort ---------------------------------------------------------------------------------
def _in_period(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.since, column < period.until)


def _cohort_conversation(conversation_id: Any, period: Period) -> ColumnElement[bool]:
    """`conversation_id` names a conversation started in the period."""
    c = aliased(models.Conversation)
    return exists().where(c.id == conversation_id, _in_period(c.created_at, period))


def _grounded(message: Any) -> ColumnElement[bool]:
    return message.reply["grounded"].as_boolean()


def _containment(session: Session, period: Period) -> tuple[int, int]:
    c, f = models.Conversation, models.ReplyFact
    h = aliased(models.Handoff)
    conversations = session.scalar(select(func.count()).where(_in_period(c.created_at, period))) or 0
    contained = session.scalar(
        select(func.count(func.distinct(f.conversation_id))).where(
            _in_period(f.started_at, period), f.grounded, ~exists().where(h.conversation_id == f.conversation_id)
        )
    )
    return int(conversations), int(contained or 0)


def _handoffs_by_reason(session: Session, period: Period) -> dict[str, int]:
    h, c = models.Handoff, models.Conversation
    rows = session.execute(
        select(h.reason, func.count())
        .join(c, c.id == h.conversation_id)
        .where(_in_period(c.created_at, period))
        .group_by(h.reason)
        .order_by(func.count().desc(), h.reason)
    )
    return {reason: int(count) for reason, count in rows}


# --- dialect differences, spelled once ------------------------------------------------------------
def _seconds_between(dialect: str, later: Any, earlier: Any) -> Any:
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _plus_window(dialect: str, moment: Any) -> Any:
    if dialect == "sqlite":
        # SQLAlchemy stores SQLite times as 'YYYY-MM-DD HH:MM:SS.ffffff': same text shape, so
        # strings compare in time order.
        return func.strftime("%Y-%m-%d %H:%M:%f000", moment, f"+{int(REPEAT_WINDOW.total_seconds())} seconds")
    return moment + literal_column(f"interval '{int(REPEAT_WINDOW.total_seconds())} seconds'")


# --- operators -----------------------------------------------------------------------------------
def _first_response(session: Session, period: Period, dialect: str) -> dict[str, Any]:
    h, c = models.Handoff, models.Conversation
    m = aliased(models.Message)
    first_reply = (
        select(func.min(m.created_at))
        .where(m.conversation_id == h.conversation_id, m.role == "operator", m.created_at >= h.created_at)
        .scalar_subquery()
    )
    waits = (
        select(_seconds_between(dialect, first_reply, h.created_at).label("seconds"))
        .select_from(h)
        .join(c, c.id == h.conversation_id)
        .where(_in_period(c.created_at, period))
        .subquery()
    )
    answered = select(waits.c.seconds).where(waits.c.seconds.is_not(None)).subquery()
    ranked = select(
        answered.c.seconds,
        func.row_number().over(order_by=answered.c.seconds).label("rank"),
        func.count().over().label("n"),
    ).subquery()
    # Nearest rank: the smallest value whose rank reaches p·n.
    row = session.execute(
        select(
            func.max(ranked.c.n),
            func.min(case((ranked.c.rank >= 0.5 * ranked.c.n, ranked.c.seconds))),
            func.min(case((ranked.c.rank >= 0.9 * ranked.c.n, ranked.c.seconds))),
        )
    ).one()
    total = session.scalar(select(func.count()).select_from(waits)) or 0
    answered_count = int(row[0] or 0)
    return {
        "handoffs": int(total),
        "answered": answered_count,
        "p50": _seconds(row[1]),
        "p90": _seconds(row[2]),
    }


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


# --- customers -------------------------------------------------------------------------------------
def _csat(session: Session, period: Period) -> dict[str, Any]:
    f, c = models.Feedback, models.Conversation
    h = aliased(models.Handoff)
    with_person = exists().where(h.conversation_id == f.conversation_id, h.claimed_at.is_not(None))
    rows = session.execute(
        select(case((with_person, "with_person"), else_="bot_only").label("who"), f.rating, func.count())
        .select_from(f)
        .join(c, c.id == f.conversation_id)
        .where(_in_period(c.created_at, period))
        .group_by(literal_column("who"), f.rating)
    ).all()
    split: dict[str, dict[int, int]] = {"bot_only": {}, "with_person": {}}
    for who, rating, count in rows:
        split[str(who)][int(rating)] = int(count)
    return {who: _ratings(dist) for who, dist in (("all", _merged(split)), *split.items())}


def _merged(split: dict[str, dict[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for dist in split.values():
        for rating, count in dist.items():
            merged[rating] = merged.get(rating, 0) + count
    return merged


def _ratings(dist: dict[int, int]) -> dict[str, Any]:
    count = sum(dist.values())
    mean = sum(r * n for r, n in dist.items()) / count if count else None
    return {
        "count": count,
        "mean": round(mean, 2) if mean is not None else None,
        "distribution": {str(r): dist.get(r, 0) for r in range(1, 6)},
    }


def _repeat_contact(session: Session, period: Period, dialect: str) -> dict[str, Any]:
    h, c = models.Handoff, models.Conversation
    m, c2 = aliased(models.Message), aliased(models.Conversation)
    wrote_again = (
        exists()
        .where(
            c2.user_id == c.user_id,
            c2.channel == c.channel,
            m.conversation_id == c2.id,
            m.role == "customer",
            m.created_at > h.resolved_at,
            m.created_at <= _plus_window(dialect, h.resolved_at),
        )
    )
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(case((wrote_again, 1), else_=0)), 0))
        .select_from(h)
        .join(c, c.id == h.conversation_id)
        .where(_in_period(c.created_at, period), h.resolved_at.is_not(None))
    ).one()
    resolved, repeated = int(row[0]), int(row[1])
    return {
        "window_hours": int(REPEAT_WINDOW.total_seconds() // 3600),
        "resolved": resolved,
        "repeated": repeated,
        "rate": round(repeated / resolved, 4) if resolved else None,
    }


# --- knowledge -------------------------------------------------------------------------------------
def _unanswered(session: Session, period: Period) -> list[tuple[str, int]]:
    """(customer text, times asked) for ungrounded answers, most frequent first."""
    f = models.ReplyFact
    rows = session.execute(
        select(f.question, func.count())
        .where(_in_period(f.started_at, period), f.unanswered, f.question.is_not(None))
        .group_by(f.question)
        .order_by(func.count().desc(), f.question)
        .limit(CLUSTERED_TEXTS)
    )
    return [(str(t), int(n)) for t, n in rows]


def _item_counts(session: Session, period: Period, kind: str) -> list[tuple[str, int]]:
    i = models.ReplyItem
    rows = session.execute(
        select(i.value, func.count())
        .where(i.kind == kind, _in_period(i.started_at, period))
        .group_by(i.value)
        .order_by(func.count().desc(), i.value)
        .limit(20)
    )
    return [(str(v), int(n)) for v, n in rows]


# --- reply facts: each bot reply read from its JSON once ----------------------------------------------
# Messages are append-only; a report first adds the facts of replies not yet read. On PostgreSQL a
# sequence value can commit after a larger one, so the catch-up looks back CATCH_UP_WINDOW rows
# past the last fact and skips those already there.
CATCH_UP_WINDOW = 10_000


def catch_up(session: Session) -> int:
    """Add the facts of bot replies stored since the last report; returns how many."""
    f, bot, customer, c = models.ReplyFact, aliased(models.Message), aliased(models.Message), models.Conversation
    floor = (session.scalar(select(func.max(f.seq))) or 0) - CATCH_UP_WINDOW
    pending = and_(bot.role == "bot", bot.seq > floor, ~exists().where(f.seq == bot.seq))
    reason = customer.response[("handoff", "reason")].as_string()
    unanswered = and_(
        ~_grounded(bot),
        or_(bot.intent.is_(None), ~bot.intent.like("act:%")),
        or_(reason.is_(None), reason.in_(NO_ANSWER_REASONS)),
    )
    dialect = session.get_bind().dialect.name
    try:
        for kind, array, field in (("citation", "citations", "source_id"), ("warning", "warnings", "kind")):
            session.execute(_items_sql(dialect, kind, array, field).bindparams(floor=floor))
        added = rows_affected(session.execute(
            insert(f).from_select(
                ["seq", "conversation_id", "started_at", "grounded", "unanswered", "question"],
                select(
                    bot.seq,
                    bot.conversation_id,
                    c.created_at,
                    func.coalesce(_grounded(bot), False),
                    unanswered,
                    case((unanswered, customer.text)),
                )
                .select_from(bot)
                .join(c, c.id == bot.conversation_id)
                # A reply answers the customer message just before it in its conversation.
                .outerjoin(customer, customer.seq == _message_before(bot))
                .where(pending),
            )
        ))
        session.commit()
    except IntegrityError:  # another process caught up at the same time: its rows stand
        session.rollback()
        return 0
    return max(int(added or 0), 0)  # a driver may report -1 for INSERT … SELECT


def _items_sql(dialect: str, kind: str, array: str, field: str) -> Any:
    """INSERT the `field` of each element of the replies' `array` as reply_items (JSON expansion
    is the one thing the two dialects spell differently)."""
    if dialect == "sqlite":
        expanded = f"json_each(m.reply, '$.{array}') AS item"
        value = f"json_extract(item.value, '$.{field}')"
    else:
        expanded = f"json_array_elements(m.reply -> '{array}') AS item"
        value = f"item ->> '{field}'"
    return text(
        f"INSERT INTO reply_items (seq, kind, value, started_at) SELECT m.seq, '{kind}', {value}, c.created_at"
        f" FROM messages m JOIN conversations c ON c.id = m.conversation_id, {expanded}"
        " WHERE m.role = 'bot' AND m.seq > :floor AND NOT EXISTS (SELECT 1 FROM reply_facts f WHERE f.seq = m.seq)"
        f" AND {value} IS NOT NULL"
    )


def _message_before(bot: Any) -> Any:
    earlier = aliased(models.Message)
    return (
        select(func.max(earlier.seq))
        .where(earlier.conversation_id == bot.conversation_id, earlier.role == "customer", earlier.seq < bot.seq)
        .scalar_subquery()
    )


_VECTORS: dict[tuple[str, str], np.ndarray] = {}
_VECTORS_KEPT = 5_000


def _vectors(embedder: QuestionEmbedder, texts: list[str]) -> np.ndarray:
    """Unit vectors of `texts`, embedding only those not seen before: the same unanswered
    questions come back on every page view, and embedding is the slow part of the page."""
    model = str(getattr(embedder, "name", None) or id(embedder))
    missing = [t for t in dict.fromkeys(texts) if (model, t) not in _VECTORS]
    if missing:
        if len(_VECTORS) + len(missing) > _VECTORS_KEPT:
            _VECTORS.clear()
        fresh = np.asarray(embedder.embed_passages(missing), dtype=np.float32)
        fresh /= np.linalg.norm(fresh, axis=1, keepdims=True) + 1e-9
        _VECTORS.update({(model, t): v for t, v in zip(missing, fresh, strict=True)})
    return np.stack([_VECTORS[(model, t)] for t in texts])


def cluster_questions(texts: list[tuple[str, int]], embedder: QuestionEmbedder) -> list[dict[str, Any]]:
    """Group questions by meaning: each question joins the cluster whose first (most asked)
    question it is most similar to, when that similarity stands out from how these questions
    score against each other (one standard deviation above the mean of all pairs), else starts a cluster.

    The threshold is read from the questions' own similarities, not a constant: cosine scales
    differ by model (see knowledge/index/calibration.py).
    """
    if not texts:
        return []
    vectors = _vectors(embedder, [t for t, _ in texts])
    sims = vectors @ vectors.T
    pairs = sims[np.triu_indices(len(texts), k=1)]
    # Too few pairs, or all alike, to tell related from unrelated: only near-duplicates join.
    spread = float(pairs.std()) if len(pairs) > 1 else 0.0
    threshold = float(min(0.99, pairs.mean() + spread)) if spread > 1e-6 else 0.99
    leaders: list[int] = []
    members: dict[int, list[int]] = {}
    for i in range(len(texts)):
        best = max(leaders, key=lambda j: sims[i, j], default=None)
        if best is not None and sims[i, best] > threshold:
            members[best].append(i)
        else:
            leaders.append(i)
            members[i] = [i]
    clusters: list[dict[str, Any]] = [
        {
            "count": sum(texts[i][1] for i in group),
            "examples": [texts[i][0] for i in group[:EXAMPLES]],
        }
        for group in members.values()
    ]
    clusters.sort(key=lambda cl: (-cl["count"], cl["examples"][0]))
    return clusters
