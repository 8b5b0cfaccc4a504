"""Answers from evidence: answer units cut from documents, the offline composers (structured facts,
policy rules, whole-sentence units), the optional LLM composer, and the Composition they return.

Members load on first use (PEP 562), so importing one stage does not pull in the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.answers.composition import STRUCTURED_KINDS, Composition
    from agent.answers.extractive import Evidence, select_evidence
    from agent.answers.llm import LLMComposer
    from agent.answers.offline import ComposeInput, compose_offline
    from agent.answers.units import AnswerUnit, answer_units

_LAZY = {
    "Composition": "agent.answers.composition",
    "STRUCTURED_KINDS": "agent.answers.composition",
    "AnswerUnit": "agent.answers.units",
    "answer_units": "agent.answers.units",
    "ComposeInput": "agent.answers.offline",
    "compose_offline": "agent.answers.offline",
    "LLMComposer": "agent.answers.llm",
    "Evidence": "agent.answers.extractive",
    "select_evidence": "agent.answers.extractive",
}

__all__ = [
    "AnswerUnit",
    "ComposeInput",
    "Composition",
    "Evidence",
    "LLMComposer",
    "STRUCTURED_KINDS",
    "answer_units",
    "compose_offline",
    "select_evidence",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
