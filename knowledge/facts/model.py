"""The Fact model: one typed, comparable statement about one subject, tied to its source and date,
and how two values of a subject are compared (see `knowledge.facts` for the subjects).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from knowledge.documents import Document
from knowledge.hours import TimeRange

FACT_KINDS = ("hours", "special_hours", "price", "availability", "promotion", "policy")
SNIPPET_CHARS = 300


@dataclass(frozen=True)
class Fact:
    kind: str  # "hours" | "special_hours" | "price" | "availability" | "promotion" | "policy"
    subject: str
    value: Any
    unit: str | None
    display: str  # the value in the content language ("domenica: chiuso", "1.299,00 €")
    source_id: str
    source_type: str
    doc_id: str
    url: str | None
    title: str
    effective_at: datetime | None  # the document's updated_at
    evidence: str  # the document's updated_at_evidence
    authority: int
    valid_from: date | None = None
    valid_through: date | None = None
    store: str | None = None
    product: str | None = None
    snippet: str = ""

    @property
    def id(self) -> str:
        payload = json.dumps([self.subject, self.doc_id, self.value], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "value": self.value,
            "unit": self.unit,
            "display": self.display,
            "source_id": self.source_id,
            "source_type": self.source_type,
            "doc_id": self.doc_id,
            "url": self.url,
            "title": self.title,
            "effective_at": self.effective_at.isoformat() if self.effective_at else None,
            "evidence": self.evidence,
            "authority": self.authority,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_through": self.valid_through.isoformat() if self.valid_through else None,
            "store": self.store,
            "product": self.product,
            "snippet": self.snippet,
        }


# --- comparing values -------------------------------------------------------------------------
def same_value(kind: str, a: object, b: object) -> bool:
    """Whether two values of one subject agree, after normalisation.

    Hours compare range by range ("9:00" = "09:00"); a partial statement ("closes at 19:00")
    agrees with full hours that close then. Numbers compare to the cent."""
    if kind in ("hours", "special_hours"):
        return _same_hours(a, b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return round(float(a), 2) == round(float(b), 2)
    if kind == "promotion" and isinstance(a, dict) and isinstance(b, dict):
        return a.get("valid_through") == b.get("valid_through") and a.get("valid_from") == b.get("valid_from")
    return a == b


def _same_hours(a: Any, b: Any) -> bool:
    a_ranges, b_ranges = _norm_ranges(a), _norm_ranges(b)
    a_partial, b_partial = _is_partial(a_ranges), _is_partial(b_ranges)
    if a_partial and b_partial:
        return a_ranges == b_ranges
    if a_partial or b_partial:
        part, full = (a_ranges, b_ranges) if a_partial else (b_ranges, a_ranges)
        if not full:
            return False
        opens, closes = part[0]
        if opens is None:
            return full[-1][1] == closes
        return full[0][0] == opens
    return a_ranges == b_ranges


def _norm_ranges(value: Any) -> list[tuple[str | None, str | None]]:
    out = []
    for pair in value or []:
        opens, closes = pair
        out.append((_norm_clock(opens), _norm_clock(closes)))
    return sorted(out, key=lambda r: (r[0] or "", r[1] or ""))


def _norm_clock(value: str | None) -> str | None:
    if value is None:
        return None
    hour, _, minute = str(value).partition(":")
    return f"{int(hour):02d}:{int(minute or 0):02d}"


def _is_partial(ranges: list[tuple[str | None, str | None]]) -> bool:
    return any(opens is None or closes is None for opens, closes in ranges)


def ranges_of(value: Any) -> tuple[TimeRange, ...] | None:
    """TimeRanges of a full hours value; None when the value is partial ("closes at 19:00")."""
    ranges = _norm_ranges(value)
    if _is_partial(ranges):
        return None
    return tuple(TimeRange.from_dict({"opens": o, "closes": c}) for o, c in ranges)



@dataclass(frozen=True)
class FactOrigin:
    """What every fact of one document shares."""

    document: Document
    authority: int
    lang: str

    def fact(self, kind: str, subject: str, value: Any, display: str, **extra: Any) -> Fact:
        d = self.document
        return Fact(
            kind=kind,
            subject=subject,
            value=value,
            unit=extra.pop("unit", None),
            display=display,
            source_id=d.source_id,
            source_type=d.source_type,
            doc_id=d.doc_id,
            url=d.url,
            title=d.title,
            effective_at=d.updated_at,
            evidence=d.updated_at_evidence,
            authority=self.authority,
            **extra,
        )


def content_language(language: str) -> str:
    return "it" if (language or "").lower().startswith("it") else "en"
