"""`Assistant.respond(conversation, message)`: one customer message in, one Reply out.

The flow follows the message: language → safety/handoff signals → subject (store, product,
carried over for follow-ups) → retrieval → trust (freshness, conflicts) → composer (LLM when
configured, else offline; offline is also the fallback) → handoff decision → Reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from agent.catalog_match import ProductMatcher, ProductRef
from agent.compose_offline import ComposeInput
from agent.composers import Composer, OfflineComposer, composer_from_settings
from agent.composition import Composition
from agent.conversation import Conversation, Turn
from agent.handoff_policy import classify_message, decide_handoff, summarize_for_operator
from agent.injection import strip_instructions
from agent.intents import Intent, detect_intent
from agent.phrases import PHRASES, phrase
from agent.reply import Handoff, HandoffReason, Reply
from agent.retrieval import Subject, retrieve
from agent.support_hours import next_human_availability, render_availability
from knowledge import Manifest
from knowledge.facts import find_stores
from knowledge.index import KnowledgeBase, embedder_from_settings
from knowledge.text import detect_language, fold, warm_up
from knowledge.trust import assess_knowledge
from sportello.settings import RetrievalMode, Settings

log = logging.getLogger(__name__)

# Short messages without a subject of their own continue the conversation's subject.
_FOLLOW_UP_MAX_WORDS = 12


@dataclass(frozen=True)
class AssistantConfig:
    k: int = 6
    retrieval_mode: RetrievalMode = "dense"  # the best MRR on the demo suite; hybrid ties end to end (README)


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
        documents = list(knowledge.documents().values())
        self.products = ProductMatcher(documents, knowledge.chunks)
        self._documents = documents
        self._state_for_day = lru_cache(maxsize=8)(self._state)

    # Freshness depends on the day (promotions expire, hours go stale); conflicts do not.
    def _state(self, day_key: str) -> Any:

        now = datetime.fromisoformat(day_key).replace(tzinfo=self.manifest.tz)
        return assess_knowledge(self._documents, self.manifest, now=now)

    def knowledge_state(self, now: datetime) -> Any:
        local = now.astimezone(self.manifest.tz)
        return self._state_for_day(local.replace(hour=12, minute=0, second=0, microsecond=0,
                                                 tzinfo=None).isoformat())

    # --- the turn ------------------------------------------------------------------------------
    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> Reply:

        started = time.perf_counter()
        now = (now or datetime.now(UTC)).astimezone(self.manifest.tz)
        lang = detect_language(message, default=self.manifest.language, previous=conversation.focus.get("language"))
        state = self.knowledge_state(now)
        signal = classify_message(message, lang)
        intent = detect_intent(message)
        subject, product = self._subject(message, conversation, state)
        follow_up = _is_follow_up(message, subject, product)
        previous = conversation.customer_turns()[-1] if conversation.customer_turns() else None
        if follow_up and previous is not None and intent.name == "general" and previous.intent:
            # "E quello di Milano il sabato?" continues the previous question's topic.
            intent = Intent(previous.intent, intent.scores, intent.amount)
        context = previous.text if follow_up and previous is not None else None

        if signal is not None:
            reply = self._handoff_reply(conversation, message, lang, now, signal.reason, [], signal.matched)
            trace: dict[str, Any] = {"intent": intent.name, "composer": "policy", "passages": []}
        else:
            passages = retrieve(
                self.kb, message, subject, k=self.config.k, mode=self.config.retrieval_mode,
                store_names={s.key: s.aliases for s in state.stores}, language=lang, context=context,
            )
            inp = ComposeInput(
                message=message, lang=lang, intent=intent, subject=subject, passages=passages, state=state, now=now,
                idf=self.kb.idf, known=self.kb.known, clean=_clean, country=self.manifest.country, documents=self._documents,
                context=context,
            )
            composition = self._compose(inp, product)
            trace = {
                "intent": intent.name,
                "composer": composition.composer,
                "answer_kind": composition.kind,
                "passages": [p.chunk_id for p in passages],
                "store": subject.store_key,
                "product": subject.product_key,
            }
            reply = self._finish(conversation, message, lang, now, composition, passages)
        trace["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        reply = Reply(reply.text, reply.language, reply.grounded, reply.citations, reply.warnings, reply.handoff,
                      {**reply.trace, **trace})
        self._remember(conversation, message, reply, now, intent.name, subject, lang)
        log.info("agent.reply intent=%s grounded=%s handoff=%s citations=%d warnings=%d ms=%.1f",
                 intent.name, reply.grounded, reply.handoff.reason if reply.handoff else None,
                 len(reply.citations), len(reply.warnings), trace["latency_ms"])
        return reply

    def _compose(self, inp: ComposeInput, product: ProductRef | None) -> Composition:
        return self.composer.compose(inp, product)

    def _finish(
        self, conversation: Conversation, message: str, lang: str, now: datetime, comp: Composition,
        passages: list[Any],
    ) -> Reply:

        evidence = [c.url or c.title for c in comp.citations] or [p.url or p.title for p in passages[:3]]
        handoff = decide_handoff(signal=None, grounded=comp.grounded, conversation=conversation, message=message,
                                 lang=lang, evidence=evidence)
        if handoff is None and comp.needs_human:

            handoff = Handoff(HandoffReason.STALE_INFORMATION,
                              summarize_for_operator(conversation, message, HandoffReason.STALE_INFORMATION, lang),
                              lang, evidence)
        if handoff is not None and not comp.grounded:
            return self._handoff_reply(conversation, message, lang, now, handoff.reason, evidence, None,
                                       handoff=handoff)
        text = comp.text
        if handoff is not None:
            text = f"{text}\n\n{phrase(lang, 'handoff_offer')} {self._availability(lang, now)}".strip()
        return Reply(text=text, language=lang, grounded=comp.grounded, citations=comp.citations,
                     warnings=comp.warnings, handoff=handoff)

    def _handoff_reply(
        self, conversation: Conversation, message: str, lang: str, now: datetime, reason: HandoffReason,
        evidence: list[str], matched: str | None, *, handoff: Handoff | None = None,
    ) -> Reply:

        if handoff is None:
            handoff = Handoff(reason, summarize_for_operator(conversation, message, reason, lang), lang,
                              evidence + ([f"matched: {matched}"] if matched else []))
        lead = PHRASES.get(lang, PHRASES["en"])["handoff"][str(reason)]  # type: ignore[index]
        text = f"{lead} {self._availability(lang, now)}".strip()
        return Reply(text=text, language=lang, grounded=False, citations=[], warnings=[], handoff=handoff)

    def _availability(self, lang: str, now: datetime) -> str:

        available, next_at = next_human_availability(
            self.manifest.support.opening_hours, now, country=self.manifest.country, timezone=self.manifest.tz
        )
        return render_availability(available, next_at, lang, now)

    # --- subject and memory ---------------------------------------------------------------------
    def _subject(self, message: str, conversation: Conversation, state: Any) -> tuple[Subject, ProductRef | None]:

        stores = find_stores(message, list(state.stores))
        follow_up = len(message.split()) <= _FOLLOW_UP_MAX_WORDS
        store_key = store_label = None
        from_focus = False
        if len(stores) == 1:
            store_key, store_label = stores[0].key, _store_label(stores[0])
        elif not stores and follow_up and conversation.focus.get("store"):
            match = [s for s in state.stores if s.key == conversation.focus["store"]]
            if match:
                store_key, store_label, from_focus = match[0].key, _store_label(match[0]), True
        product = self.products.find(message)
        product_from_focus = False
        if product is None and follow_up and conversation.focus.get("product") and not stores:
            product = next((p for p in self.products.products if p.key == conversation.focus["product"]), None)
            product_from_focus = product is not None and _refers_back(message)
            if not product_from_focus:
                product = None
        subject = Subject(store_key, store_label, from_focus, product.key if product else None,
                          product.title if product else None, product_from_focus)
        return subject, product

    def _remember(self, conversation: Conversation, message: str, reply: Reply, now: datetime, intent: str,
                  subject: Subject, lang: str) -> None:
        conversation.turns.append(Turn("customer", message, now, intent=intent))
        conversation.turns.append(Turn("bot", reply.text, now, grounded=reply.grounded, intent=intent))
        conversation.focus["language"] = lang
        if subject.store_key:
            conversation.focus["store"] = subject.store_key
        if subject.product_key:
            conversation.focus["product"] = subject.product_key


def _is_follow_up(message: str, subject: Subject, product: ProductRef | None) -> bool:
    """A short message that names no store or product of its own leans on the previous turn."""
    own_subject = (subject.store_key and not subject.store_from_focus) or (product and not subject.product_from_focus)
    return len(message.split()) <= _FOLLOW_UP_MAX_WORDS and not own_subject


def _store_label(store: Any) -> str:
    return f"{store.name} {store.city or ''}".strip()


_BACK_REFERENCES = ("lo ", "la ", "li ", "le ", "it ", "this", "that", "questo", "questa", "quello", "quella",
                    "disponibil", "costa", "prezzo", "price", "stock", "colori", "taglie", "sizes")


def _refers_back(message: str) -> bool:
    folded = fold(message)
    return any(marker in folded for marker in _BACK_REFERENCES)


@lru_cache(maxsize=4096)
def _clean(text: str) -> str:

    return strip_instructions(text)[0]


def build_assistant(settings: Settings, manifest: Manifest) -> Assistant:
    """The assistant for a deployment: the index in the data dir, the composer the settings name."""
    kb = KnowledgeBase.open(settings.data_dir, chroma_url=settings.chroma_url, embedder=embedder_from_settings(settings))
    composer = composer_from_settings(settings, brand=manifest.brand)
    return Assistant(manifest, kb, composer=composer, config=AssistantConfig(retrieval_mode=settings.retrieval_mode))
