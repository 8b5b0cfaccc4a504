"""The one typed state a turn passes through its stages, and what the stages share.

    understand → retrieve → assess trust → compose → check → decide

Each stage is a module of `agent.turn` with one job and returns its own frozen result; the
pipeline (`agent.assistant`) gathers them in a `TurnState`. `Resources` is what the assistant
holds for every turn (the knowledge base, the store and product directories, the example
sentences); nothing in it changes during a turn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from agent.answers.composition import Composition
from agent.answers.units import AnswerUnit
from agent.catalog_match import ProductMatcher, ProductRef
from agent.conversation import Conversation
from agent.reply import Handoff, Reply
from agent.signals.exemplars import Exemplars, ExemplarVote
from agent.signals.intents import Intent
from agent.signals.safety import SensitiveSignal
from knowledge import Document, Manifest
from knowledge.index import Calibration, KnowledgeBase, Passage, SearchMode
from knowledge.trust import KnowledgeState

__all__ = [
    "Assessment",
    "Subject",
    "Check",
    "Decision",
    "Resources",
    "Retrieval",
    "TurnState",
    "Understanding",
]


@dataclass(frozen=True)
class Subject:
    """What the turn is about: named in the message, or carried over from the conversation."""

    store_key: str | None = None
    store_label: str | None = None  # e.g. "Homely Leeds (Leeds)" for the query
    store_from_focus: bool = False
    product_key: str | None = None
    product_title: str | None = None
    product_from_focus: bool = False


@dataclass(frozen=True)
class Resources:
    manifest: Manifest
    kb: KnowledgeBase
    products: ProductMatcher
    exemplars: Exemplars
    calibration: Calibration
    documents: dict[str, Document]
    knowledge_state: Callable[[datetime], KnowledgeState]
    clean: Callable[[str], str]  # strips instructions planted in crawled content
    store_words: frozenset[str]  # folded words the brand's store names share
    store_names: dict[str, tuple[str, ...]]  # store key → the names a message may call it by
    retrieval_mode: SearchMode = "dense"
    k: int = 6

    @property
    def served_languages(self) -> tuple[str, ...]:
        return tuple(self.manifest.served_languages)


@dataclass(frozen=True)
class Understanding:
    """What the message is: its language, whether it is conversation or a question, a signal a
    person must answer, what it asks about and about which store or product."""

    message: str
    question: str  # the message without greetings, thanks and fillers ("" for a pure act)
    language: str  # the language to reply in (one the brand serves)
    detected: str  # the language the message is written in
    served: bool  # the brand serves the detected language
    act: str | None  # greeting | thanks | goodbye | acknowledgement | small_talk, when only that
    signal: SensitiveSignal | None
    intent: Intent
    subject: Subject
    product: ProductRef | None
    follow_up: bool
    context: str | None  # the previous customer question, when this message leans on it
    query: str  # what is searched: the question (with the context of a follow-up)
    vector: np.ndarray | None  # the unit query vector of `query` (None when nothing is searched)
    vote: ExemplarVote | None  # the nearest example sentences of the question
    strength: float  # the best dense similarity of the question alone to the knowledge base


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]
    units: list[AnswerUnit]  # the passages grouped into source units, best first
    # The document the question's own words point at (BM25's first hit): an independent second
    # view that corroborates a close call by meaning.
    lexical_doc: str | None = None
    # The vector index (a Chroma server) did not answer: the passages were found by BM25 alone.
    lexical_only: bool = False


@dataclass(frozen=True)
class Assessment:
    state: KnowledgeState


@dataclass(frozen=True)
class Check:
    """Whether the composed answer holds: by meaning, calibrated on this knowledge base."""

    grounded: bool
    level: str  # structured | strong | corroborated | ambiguous | weak | unsupported_number | empty
    similarity: float | None = None
    z: float | None = None
    margin: float | None = None  # how far (in null standard deviations) it beats the best rival
    unsupported: tuple[str, ...] = ()  # numbers of the reply found in no evidence


@dataclass(frozen=True)
class Decision:
    reply: Reply
    handoff: Handoff | None


@dataclass
class TurnState:
    conversation: Conversation
    message: str
    now: datetime
    understanding: Understanding | None = None
    retrieval: Retrieval | None = None
    assessment: Assessment | None = None
    composition: Composition | None = None
    check: Check | None = None
    decision: Decision | None = None
    timings: dict[str, float] = field(default_factory=dict)  # ms per stage, for the trace
    trace: dict[str, Any] = field(default_factory=dict)
