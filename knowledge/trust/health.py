"""The knowledge-health report for content teams (`sportello doctor`, the API's health route).

It lists what a person should fix, grouped so that one fix closes one issue:

- **conflict** — sources disagree on a subject; one issue per store / product / policy and set
  of disagreeing documents (a page wrong on three weekdays is one issue), with every side, the
  winner and why it wins (`knowledge.freshness`);
- **stale** — one issue per document whose facts are older than their max age and not
  confirmed by a fresh source of at least equal authority (superseded facts included: the old
  page is what needs updating);
- **expired** — one issue per promotion whose end date has passed (and per page or FAQ entry
  still stating special hours for dates that are over);
- **duplicate** — one issue per question an FAQ source asks more than once with different
  answers (`knowledge.sources.faq` indexes each entry and records where it is): the same
  question twice, to be merged into one entry.

The report holds no ages or other values that change from one day to the next unless the
knowledge changes, so an issue's JSON identifies it across runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from knowledge.documents import Document
from knowledge.facts import Fact
from knowledge.manifest import Manifest
from knowledge.trust.freshness import SOURCE_LABELS, Conflict, KnowledgeState, assess_knowledge

ISSUE_KINDS = ("conflict", "stale", "expired", "duplicate")
_KIND_WORDS = {
    "hours": "opening hours",
    "special_hours": "special opening hours",
    "price": "price",
    "availability": "availability",
    "promotion": "promotion",
    "policy": "policy",
}


@dataclass(frozen=True)
class HealthIssue:
    kind: str  # conflict | stale | expired | duplicate
    subject: str
    title: str
    detail: str
    sources: list[dict[str, Any]]  # {source_id, url, updated_at, value, subject}; duplicates add line
    winner: dict[str, Any] | None  # {source_id, url, updated_at, value, subject}
    suggested_fix: str
    subjects: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "subjects": list(self.subjects or [self.subject]),
            "title": self.title,
            "detail": self.detail,
            "sources": self.sources,
            "winner": self.winner,
            "suggested_fix": self.suggested_fix,
        }


@dataclass(frozen=True)
class HealthReport:
    brand: str
    generated_at: datetime
    issues: list[HealthIssue]
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "brand": self.brand,
            "generated_at": self.generated_at.isoformat(),
            "counts": dict(self.counts),
            "issues": [issue.to_dict() for issue in self.issues],
        }

    def render_text(self) -> str:
        when = self.generated_at.strftime("%Y-%m-%d %H:%M %Z").strip()
        if not self.issues:
            return (
                f"Knowledge health for {self.brand} at {when}: no stale, expired or conflicting facts"
                " and no duplicate entries."
            )
        parts = ", ".join(f"{self.counts.get(k, 0)} {k}" for k in ISSUE_KINDS if self.counts.get(k))
        lines = [f"Knowledge health for {self.brand} at {when}: {len(self.issues)} issues ({parts})", ""]
        for issue in self.issues:
            lines.append(f"{issue.kind.upper():<9} {issue.title}")
            lines.append(f"  {issue.detail}")
            for side in issue.sources:
                mark = "  <- winner" if issue.winner and _same_side(side, issue.winner) else ""
                where = f"{side['source_id']} {side['line']}" if side.get("line") else side["source_id"]
                lines.append(
                    f"  - {where} ({side['updated_at'] or 'undated'}) {side['url'] or ''}: {side['value']}{mark}"
                )
            if issue.winner and not any(_same_side(s, issue.winner) for s in issue.sources):
                w = issue.winner
                lines.append(
                    f"  current: {w['source_id']} ({w['updated_at'] or 'undated'}) {w['url'] or ''}: {w['value']}"
                )
            lines.append(f"  fix: {issue.suggested_fix}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _same_side(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    return a["source_id"] == b["source_id"] and a["url"] == b["url"] and a["value"] == b["value"]


def build_health_report(documents: Iterable[Document], manifest: Manifest, *, now: datetime) -> HealthReport:
    docs = list(documents)
    state = assess_knowledge(docs, manifest, now=now)
    context = _Context(state, manifest, {d.doc_id: d for d in docs})
    issues = _conflict_issues(context) + _stale_issues(context) + _expired_issues(context) + _duplicate_issues(context)
    order = {k: i for i, k in enumerate(ISSUE_KINDS)}
    issues.sort(key=lambda i: (order[i.kind], i.subject, i.title))
    counts = {k: sum(1 for i in issues if i.kind == k) for k in ISSUE_KINDS}
    counts |= {"total": len(issues), "facts": len(state.facts), "documents": len(docs)}
    return HealthReport(manifest.brand, now.astimezone(manifest.tz), issues, counts)


@dataclass(frozen=True)
class _Context:
    state: KnowledgeState
    manifest: Manifest
    documents: dict[str, Document]

    def day(self, fact: Fact) -> str | None:
        return fact.effective_at.astimezone(self.state.tz).date().isoformat() if fact.effective_at else None

    def side(self, fact: Fact) -> dict[str, Any]:
        return {
            "source_id": fact.source_id,
            "url": fact.url,
            "updated_at": self.day(fact),
            "value": fact.display,
            "subject": fact.subject,
        }

    def label(self, fact: Fact) -> str:
        spec = next((s for s in self.manifest.sources if s.id == fact.source_id), None)
        if spec is not None and spec.blog:
            return "blog"
        return SOURCE_LABELS.get(fact.source_type, fact.source_type)

    def where(self, fact: Fact) -> str:
        """How a person finds the thing to edit: the page path, the FAQ question, the feed row."""
        if fact.source_type == "faq":
            # A question asked twice needs its line to say which of the two entries to edit.
            line = _faq_line(self.documents.get(fact.doc_id))
            return f"the FAQ entry \u201c{fact.title}\u201d" + (f" ({line})" if line else "")
        if fact.source_type in ("products", "locations"):
            return f"the {self.label(fact)} '{fact.source_id}' ({fact.title})"
        if fact.url:
            parts = urlsplit(fact.url)
            return parts.path + (f"#{parts.fragment}" if parts.fragment else "") or fact.url
        return fact.doc_id

    def about(self, facts: list[Fact]) -> str:
        """What the facts are about: a store's or product's name, or the policy."""
        first = facts[0]
        if first.store:
            store = next((s for s in self.state.stores if s.key == first.store), None)
            return store.name if store else first.store
        if first.product:
            titles = [
                f.title
                for f in self.state.facts_for(f"product:{first.product}:")
                if f.source_type == "products"
            ]
            return titles[0] if titles else first.product
        if first.kind == "policy":
            return first.subject.removeprefix("policy:").replace("_", " ")
        return first.title


# --- conflicts ----------------------------------------------------------------------------------
def _conflict_issues(ctx: _Context) -> list[HealthIssue]:
    groups: dict[tuple[Any, ...], list[Conflict]] = {}
    for conflict in ctx.state.conflicts:
        winner = conflict.winner
        root = (
            f"store:{winner.store}"
            if winner.store
            else f"product:{winner.product}"
            if winner.product
            else conflict.subject
        )
        loser_docs = tuple(sorted({f.doc_id for f in conflict.losers}))
        groups.setdefault((root, conflict.kind, winner.doc_id, loser_docs), []).append(conflict)
    issues = []
    for group in groups.values():
        winners = [c.winner for c in group]
        losers = [f for c in group for f in c.losers]
        sides = list({f.id: f for c in group for f in c.sides}.values())
        winner = winners[0]
        kind_word = _KIND_WORDS.get(winner.kind, winner.kind)
        days = "; ".join(w.display for w in winners)
        title = f"Conflicting {kind_word} for {ctx.about(winners)}"
        if winner.kind in ("hours", "special_hours"):
            title += f" ({', '.join(w.display.split(':')[0] for w in winners)})"  # the days
        said = "; ".join(f"{ctx.where(f)} ({ctx.day(f) or 'undated'}) says {f.display}" for f in losers)
        detail = f"{said} — but {ctx.label(winner)} '{winner.source_id}' ({ctx.day(winner) or 'undated'}) says {days}. {group[0].why}."
        fixes = []
        for doc_id in dict.fromkeys(f.doc_id for f in losers):
            mine = [f for f in losers if f.doc_id == doc_id]
            dated = f"dated {ctx.day(mine[0])}" if mine[0].effective_at else "undated"
            fixes.append(
                f"update {ctx.where(mine[0])}: it says {'; '.join(f.display for f in mine)} ({kind_word} {dated}),"
                f" the {ctx.label(winner)} ({ctx.day(winner) or 'undated'}) says {days}"
            )
        issues.append(
            HealthIssue(
                kind="conflict",
                subject=group[0].subject,
                title=title,
                detail=detail,
                sources=[ctx.side(f) for f in sorted(sides, key=lambda f: (f.subject, -f.authority))],
                winner=ctx.side(winner),
                suggested_fix="; ".join(fixes),
                subjects=[c.subject for c in group],
            )
        )
    return issues


# --- stale --------------------------------------------------------------------------------------
def _stale_issues(ctx: _Context) -> list[HealthIssue]:
    by_doc: dict[str, list[Fact]] = {}
    for fact in ctx.state.facts:
        verdict = ctx.state.verdict(fact)
        if verdict.outdated and verdict.status in ("stale", "superseded"):
            by_doc.setdefault(fact.doc_id, []).append(fact)
    issues = []
    for facts in by_doc.values():
        facts.sort(key=lambda f: f.subject)
        first = facts[0]
        kinds = list(dict.fromkeys(_KIND_WORDS.get(f.kind, f.kind) for f in facts))
        verdict = ctx.state.verdict(first)
        dated = f"dated {ctx.day(first)}" if first.effective_at else "undated"
        limit = (
            f"older than the {verdict.max_age_days}-day limit"
            if first.effective_at
            else "no date to judge them by"
        )
        current = [
            w
            for w in (ctx.state.winner(f.subject) for f in facts)
            if w is not None and w.doc_id != first.doc_id
        ]
        winner = current[0] if current else None
        if winner is not None:
            fix = (
                f"update {ctx.where(first)}: {' and '.join(kinds)} {dated}, the {ctx.label(winner)}"
                f" ({ctx.day(winner) or 'undated'}) says {'; '.join(dict.fromkeys(w.display for w in current))}"
            )
        else:
            fix = (
                f"review {ctx.where(first)}: {' and '.join(kinds)} {dated}; confirm or correct them and"
                " update the page's date (dateModified / 'aggiornato il')"
            )
        issues.append(
            HealthIssue(
                kind="stale",
                subject=first.subject,
                title=f"Stale {' and '.join(kinds)} on {ctx.where(first)}",
                detail=f"{' and '.join(kinds)} {dated} ({limit}): {'; '.join(f.display for f in facts)}",
                sources=[ctx.side(f) for f in facts],
                winner=ctx.side(winner) if winner is not None else None,
                suggested_fix=fix,
                subjects=[f.subject for f in facts],
            )
        )
    return issues


# --- expired ------------------------------------------------------------------------------------
def _expired_issues(ctx: _Context) -> list[HealthIssue]:
    issues = []
    specials: dict[str, list[Fact]] = {}
    for fact in ctx.state.facts:
        if ctx.state.verdict(fact).status != "expired":
            continue
        if fact.kind == "promotion":
            start = f"{fact.valid_from} → " if fact.valid_from else ""
            issues.append(
                HealthIssue(
                    kind="expired",
                    subject=fact.subject,
                    title=f"Expired promotion still published: {fact.value.get('title') or fact.title}",
                    detail=f"the offer ran {start}{fact.valid_through} and is over, but {ctx.where(fact)} still presents it",
                    sources=[ctx.side(fact)],
                    winner=None,
                    suggested_fix=(
                        f"unpublish {ctx.where(fact)} (and drop it from the sitemap) or mark the offer as ended:"
                        f" it ended on {fact.valid_through}"
                    ),
                    subjects=[fact.subject],
                )
            )
        elif fact.source_type not in ("locations", "products"):
            # Past dates in a feed are harmless history; on a page a reader may take them as current.
            specials.setdefault(fact.doc_id, []).append(fact)
    for facts in specials.values():
        facts.sort(key=lambda f: f.subject)
        first = facts[0]
        issues.append(
            HealthIssue(
                kind="expired",
                subject=first.subject,
                title=f"Past special opening hours on {ctx.where(first)}",
                detail=f"dates already over: {'; '.join(f.display for f in facts)}",
                sources=[ctx.side(f) for f in facts],
                winner=None,
                suggested_fix=f"remove the past dates from {ctx.where(first)} or replace them with the coming ones",
                subjects=[f.subject for f in facts],
            )
        )
    return issues


# --- duplicates -----------------------------------------------------------------------------------
_ANSWER_CHARS = 160


def _faq_line(document: Document | None) -> str | None:
    faq = document.data.get("faq") if document is not None else None
    return str(faq["line"]) if isinstance(faq, dict) and faq.get("line") else None


def _duplicate_issues(ctx: _Context) -> list[HealthIssue]:
    groups: dict[tuple[str, str], list[Document]] = {}
    for document in ctx.documents.values():
        faq = document.data.get("faq")
        if document.kind == "faq" and isinstance(faq, dict) and faq.get("same_question"):
            groups.setdefault((document.source_id, str(faq["same_question"])), []).append(document)
    issues = []
    for (source_id, question_key), group in groups.items():
        if len(group) < 2:
            continue  # the other entries are gone (merged since, or their source not synced)
        group.sort(key=lambda d: (_line_number(_faq_line(d)), d.doc_id))
        question = group[0].data["faq"]["question"]
        sides = [
            {
                "source_id": d.source_id,
                "url": d.url,
                "updated_at": d.updated_at.astimezone(ctx.state.tz).date().isoformat() if d.updated_at else None,
                "value": _shortened(str(d.data["faq"]["answer"])),
                "subject": d.doc_id,
                "line": _faq_line(d),
            }
            for d in group
        ]
        places = [_place(side) for side in sides]
        times, answers = ("twice", "the two answers") if len(group) == 2 else (f"{len(group)} times", f"the {len(group)} answers")
        said = "; ".join(f"{place} says \u201c{side['value']}\u201d" for place, side in zip(places, sides, strict=True))
        issues.append(
            HealthIssue(
                kind="duplicate",
                subject=f"{source_id}:{question_key}",
                title=f"Duplicate FAQ question \u201c{question}\u201d",
                detail=f"the same question {times} in the FAQ '{source_id}', with different answers: {said}",
                sources=sides,
                winner=None,
                suggested_fix=(
                    f"merge {answers} into one entry, or reword the questions so that each asks what its"
                    f" own answer says: {'; '.join(places)}"
                ),
                subjects=[d.doc_id for d in group],
            )
        )
    return issues


def _place(side: dict[str, Any]) -> str:
    """'faq.csv line 3 (https://…/faq/#orari)': the line first, the URL when there is one."""
    if side["line"] and side["url"]:
        return f"{side['line']} ({side['url']})"
    return str(side["line"] or side["url"] or side["subject"])


def _line_number(line: str | None) -> int:
    numbers = re.findall(r"\d+", line or "")
    return int(numbers[-1]) if numbers else 0


def _shortened(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _ANSWER_CHARS else text[: _ANSWER_CHARS - 1].rstrip() + "\u2026"
