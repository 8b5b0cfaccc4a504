"""Score one case: does its last reply meet the case's expectations?  Pure functions.

Every failed expectation yields one human-readable reason, so a report reader sees at once
what went wrong ("missing any of ['chiuso', 'closed']", "expected handoff, none").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evals.normalize import contains
from evals.runner import CaseRun
from evals.suite import Case


@dataclass(frozen=True)
class Observation:
    """What the last reply showed, whatever the target (in-process or HTTP)."""

    text: str = ""
    grounded: bool = False
    handed_off: bool = False
    handoff_reason: str | None = None
    citations: tuple[tuple[str, str | None], ...] = ()  # (source_id, url), deduplicated, in order
    warning_kinds: tuple[str, ...] = ()  # deduplicated, in order

    @property
    def answered(self) -> bool:
        """An answer was attempted: not handed off and claimed grounded (c@1's 'answered')."""
        return self.grounded and not self.handed_off

    @property
    def cited_ids(self) -> list[str]:
        return [source_id for source_id, _ in self.citations]

    @classmethod
    def from_reply(cls, reply: dict[str, Any] | None) -> Observation:
        if reply is None:
            return cls()
        citations: list[tuple[str, str | None]] = []
        for citation in reply.get("citations") or []:
            pair = (str(citation.get("source_id") or ""), citation.get("url"))
            if pair not in citations:
                citations.append(pair)
        kinds: list[str] = []
        for warning in reply.get("warnings") or []:
            kind = str(warning.get("kind"))
            if kind not in kinds:
                kinds.append(kind)
        handoff = reply.get("handoff")
        return cls(
            text=str(reply.get("text") or ""),
            grounded=bool(reply.get("grounded")),
            handed_off=handoff is not None,
            handoff_reason=str(handoff.get("reason")) if isinstance(handoff, dict) and handoff.get("reason") else None,
            citations=tuple(citations),
            warning_kinds=tuple(kinds),
        )


@dataclass(frozen=True)
class CaseResult:
    run: CaseRun
    observation: Observation
    passed: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def case(self) -> Case:
        return self.run.case


def cite_matches(entry: str, source_id: str, url: str | None) -> bool:
    """A cite entry names a source id or a url fragment: a citation (or passage) matches when
    its source id or url contains it, ignoring case."""
    needle = entry.casefold()
    return needle in source_id.casefold() or (url is not None and needle in url.casefold())


def relevant_citations(observation: Observation, cite: tuple[str, ...]) -> int:
    """How many of the reply's citations match one of the case's cite entries."""
    return sum(
        1 for source_id, url in observation.citations if any(cite_matches(e, source_id, url) for e in cite)
    )


def score(run: CaseRun) -> CaseResult:
    case = run.case
    observation = Observation.from_reply(run.last_reply)
    if run.error is not None:
        return CaseResult(run, observation, False, [f"error: {run.error}"])
    reasons: list[str] = []
    text = observation.text

    for group in case.expect:
        if not any(contains(text, alternative) for alternative in group):
            reasons.append(f"missing any of {list(group)!r}")
    for phrase in case.forbid:
        if contains(text, phrase):
            reasons.append(f"forbidden {phrase!r} present")

    if case.cite and relevant_citations(observation, case.cite) == 0:
        wanted = " or ".join(repr(entry) for entry in case.cite)
        reasons.append(f"expected citation of {wanted}, cited {observation.cited_ids!r}")

    if case.warnings is not None:
        raised = list(observation.warning_kinds)
        if not case.warnings and raised:
            reasons.append(f"expected no warning, got {raised!r}")
        for kind in case.warnings:
            if kind not in raised:
                reasons.append(f"expected warning {kind!r}, got {raised!r}")

    expected_handoff = case.expected_handoff
    if expected_handoff is True and not observation.handed_off:
        reasons.append("expected handoff, none")
    elif (
        expected_handoff is True
        and case.handoff_reason
        and observation.handoff_reason not in case.handoff_reason
    ):
        reasons.append(
            f"expected handoff reason {' or '.join(case.handoff_reason)}, got {observation.handoff_reason!r}"
        )
    elif expected_handoff is False and observation.handed_off:
        reasons.append(f"unexpected handoff (reason {observation.handoff_reason!r})")

    if case.unanswerable and observation.grounded:
        reasons.append("claimed grounded on an unanswerable case")

    return CaseResult(run, observation, not reasons, reasons)


def score_all(runs: list[CaseRun]) -> list[CaseResult]:
    return [score(run) for run in runs]
