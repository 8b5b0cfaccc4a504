"""`Assistant.respond(conversation, message)`: one customer message in, a `TurnResult` out (the
Reply and the conversation update; the conversation passed in is not changed).

The turn runs in explicit stages (`agent.turn`), each one job, gathered in one typed state:

    understand → retrieve → assess trust → compose → check → decide

A turn never fails: an internal error still returns a reply, with a handoff, so the caller stores
the customer's message and a person picks it up.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from agent.catalog_match import ProductMatcher
from agent.composers import Composer, OfflineComposer, composer_from_settings
from agent.conversation import Conversation, ConversationUpdate
from agent.phrases import AGENT_LANGUAGES, phrase
from agent.reply import Handoff, HandoffReason, Reply
from agent.signals.exemplars import load_exemplars
from agent.signals.injection import strip_instructions
from agent.turn import decide
from agent.turn.check import check
from agent.turn.compose import compose
from agent.turn.retrieve import retrieve
from agent.turn.state import Assessment, Resources, Retrieval, TurnState, Understanding
from agent.turn.understand import reconsider, understand
from knowledge import Manifest
from knowledge.facts import store_directory
from knowledge.index import KnowledgeBase, embedder_from_settings
from knowledge.text import detect_language, fold, warm_up
from knowledge.trust import KnowledgeState, assess_knowledge
from sportello.settings import RetrievalMode, Settings

__all__ = ["Assistant", "AssistantConfig", "TurnResult", "build_assistant"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class AssistantConfig:
    k: int = 6
    retrieval_mode: RetrievalMode = "dense"  # the best MRR on the demo suite; hybrid ties end to end (README)


@dataclass(frozen=True)
class TurnResult:
    reply: Reply
    update: ConversationUpdate

    def apply(self, conversation: Conversation) -> Conversation:
        return conversation.updated(self.update)


class Assistant:
    def __init__(
        self,
        manifest: Manifest,
        knowledge: KnowledgeBase,
        *,
        composer: Composer | None = None,
        config: AssistantConfig = AssistantConfig(),
    ) -> None:
        self.manifest = manifest
        self.kb = knowledge
        self.composer = composer or OfflineComposer()
        self.config = config
        warm_up()  # the language detector is slow to build and fast to use: build it before the first turn
        documents = knowledge.documents()
        stores = store_directory(documents.values())
        self._documents = list(documents.values())
        self._state_for_day = lru_cache(maxsize=8)(self._state)
        missing = [lang for lang in manifest.served_languages if not AGENT_LANGUAGES.has(lang)]
        if missing:
            log.warning("agent.languages_without_phrases languages=%s fallback=en", ",".join(missing))
        self.resources = Resources(
            manifest=manifest,
            kb=knowledge,
            products=ProductMatcher(self._documents, knowledge.chunks),
            exemplars=load_exemplars(knowledge.embedder),
            calibration=knowledge.calibration,
            documents=documents,
            knowledge_state=self.knowledge_state,
            clean=_clean,
            store_words=_shared_name_words([s.name for s in stores]),
            store_names={s.key: s.aliases for s in stores},
            retrieval_mode=config.retrieval_mode,
            k=config.k,
        )

    @property
    def products(self) -> ProductMatcher:
        return self.resources.products

    # Freshness depends on the day (promotions expire, hours go stale); conflicts do not.
    def _state(self, day_key: str) -> KnowledgeState:
        now = datetime.fromisoformat(day_key).replace(tzinfo=self.manifest.tz)
        return assess_knowledge(self._documents, self.manifest, now=now)

    def knowledge_state(self, now: datetime) -> KnowledgeState:
        local = now.astimezone(self.manifest.tz)
        return self._state_for_day(local.replace(hour=12, minute=0, second=0, microsecond=0, tzinfo=None).isoformat())

    # --- the turn ------------------------------------------------------------------------------
    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult:
        started = time.perf_counter()
        moment = (now or datetime.now(UTC)).astimezone(self.manifest.tz)
        state = TurnState(conversation, message, moment)
        try:
            reply = self._run(state)
        except Exception:
            log.exception("agent.turn_failed conversation=%s", conversation.id)
            reply = self._failed(state)
        trace = {**reply.trace, **state.trace, "stages_ms": state.timings,
                 "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
        reply = Reply(reply.text, reply.language, reply.grounded, reply.citations, reply.warnings, reply.handoff, trace)
        u = state.understanding
        update = (
            decide.conversation_update(conversation, u, reply, moment)
            if u is not None
            else ConversationUpdate((), dict(conversation.focus), conversation.held_by)
        )
        log.info(
            "agent.reply intent=%s grounded=%s handoff=%s citations=%d warnings=%d retrieval=%s ms=%.1f",
            trace.get("intent"), reply.grounded, reply.handoff.reason if reply.handoff else None,
            len(reply.citations), len(reply.warnings), (trace.get("retrieval") or {}).get("mode"),
            trace["latency_ms"],
        )
        return TurnResult(reply, update)

    def _run(self, state: TurnState) -> Reply:
        res = self.resources
        u = self._timed(state, "understand", lambda: understand(state.conversation, state.message, state.now, res))
        state.understanding = u
        state.trace.update(_understanding_trace(u))
        if u.signal is not None:
            state.trace["composer"] = "policy"
            return decide.signal_reply(res, state.conversation, u, state.now, u.signal)
        if state.conversation.held_by:
            state.trace["composer"] = "held"
            return decide.held_reply(res, state.conversation, u, state.now, HandoffReason(state.conversation.held_by))
        if u.act is not None:
            state.trace["composer"] = "act"
            return decide.act_reply(res, u)
        retrieval = self._timed(state, "retrieve", lambda: retrieve(res, u))
        state.retrieval = retrieval
        assessment = self._timed(state, "assess", lambda: Assessment(res.knowledge_state(state.now)))
        state.assessment = assessment
        composition = self._timed(
            state, "compose",
            lambda: compose(res, self.composer, u, retrieval, assessment, state.now),
        )
        state.composition = composition
        checked = self._timed(state, "check", lambda: check(res, u, composition))
        state.check = checked
        state.trace.update({
            "composer": composition.composer,
            "answer_kind": composition.kind,
            "retrieval": _retrieval_trace(res, retrieval),
            "passages": [p.chunk_id for p in retrieval.passages],
            "candidate": [c.url or c.source_id for c in composition.citations],
            "grounding": {"level": checked.level, "similarity": checked.similarity, "z": checked.z,
                          "margin": checked.margin},
        })
        if not checked.grounded:
            second = reconsider(u, res)
            if second.signal is not None:
                state.understanding = second
                state.trace.update({**_understanding_trace(second), "composer": "policy", "reconsidered": True})
                return decide.signal_reply(res, state.conversation, second, state.now, second.signal)
            if second.act is not None:
                state.understanding = second
                state.trace.update({**_understanding_trace(second), "composer": "act", "reconsidered": True})
                return decide.act_reply(res, second)
        evidence = [c.url or c.title for c in composition.citations] or [p.url or p.title for p in retrieval.passages[:3]]
        return self._timed(
            state, "decide",
            lambda: decide.answer_reply(res, state.conversation, u, state.now, composition, checked, evidence),
        )

    def _failed(self, state: TurnState) -> Reply:
        """An internal error: the customer is told, the message goes to a person."""
        u = state.understanding
        lang = u.language if u is not None else self.manifest.served_languages[0]
        try:
            if u is None:
                raise RuntimeError("no understanding")
            return decide.handoff_reply(self.resources, state.conversation, u, state.now, HandoffReason.INTERNAL_ERROR)
        except Exception:  # the fallback itself must not fail: plain words, no availability line
            return failed_reply(state.message, lang)

    @staticmethod
    def _timed(state: TurnState, stage: str, run: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return run()
        finally:
            state.timings[stage] = round((time.perf_counter() - started) * 1000, 2)


def failed_reply(message: str, language: str | None = None) -> Reply:
    """The reply to a message the assistant could not process (a failed stage, or no assistant at
    all: an index or manifest that cannot load): the customer is told and a person gets it."""
    lang = language or detect_language(message, default="en")
    text = phrase(lang, "handoff.internal_error")
    summary = f'the assistant failed on this message\nCustomer: "{message[:200]}"'
    return Reply(text, lang, False, handoff=Handoff(HandoffReason.INTERNAL_ERROR, summary, lang),
                 trace={"composer": "failed", "intent": None})


def _retrieval_trace(res: Resources, retrieval: Retrieval) -> dict[str, Any]:
    """How the passages were found: the configured mode, or lexical-only while the vector index
    (a Chroma server) does not answer, with its error."""
    if retrieval.lexical_only:
        return {"mode": "lexical_only", "reason": "vector_index_unreachable", "error": res.kb.vector_outage}
    return {"mode": res.retrieval_mode}


def _understanding_trace(u: Understanding) -> dict[str, Any]:
    return {
        "intent": u.intent.name,
        "act": u.act,
        "signal": None if u.signal is None else {"reason": str(u.signal.reason), "topic": u.signal.topic,
                                                  "how": u.signal.how},
        "language": {"detected": u.detected, "reply": u.language, "served": u.served},
        "question": u.question,
        "follow_up": u.follow_up,
        "store": u.subject.store_key,
        "product": u.subject.product_key,
        "strength": round(u.strength, 4),
        "vote": None if u.vote is None else {"label": u.vote.label, "votes": u.vote.votes},
    }


def _shared_name_words(names: list[str]) -> frozenset[str]:
    """Words most of the brand's store names share ("Farmacia … Carpi", "Farmacia … Vignola"): what
    its customers call a store, in its own sector."""
    if len(names) < 2:
        return frozenset()
    counts = Counter(w for name in names for w in set(fold(name).split()) if len(w) >= 4)
    return frozenset(w for w, n in counts.items() if n * 2 >= len(names))


@lru_cache(maxsize=4096)
def _clean(text: str) -> str:
    return strip_instructions(text)[0]


def build_assistant(settings: Settings, manifest: Manifest) -> Assistant:
    """The assistant for a deployment: the index in the data dir, the composer the settings name."""
    kb = KnowledgeBase.open(
        settings.data_dir, chroma_url=settings.chroma_url, embedder=embedder_from_settings(settings),
        in_memory_limit=settings.index_in_memory_limit, retry_seconds=settings.chroma_retry_seconds,
    )
    composer = composer_from_settings(settings, brand=manifest.brand)
    return Assistant(manifest, kb, composer=composer, config=AssistantConfig(retrieval_mode=settings.retrieval_mode))
