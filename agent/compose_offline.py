"""The offline composer: deterministic, extractive, cited.

It answers from structured facts when the question is about one (opening hours on a day,
a product's price or stock, the shipping rule applied to the customer's amount, return days,
warranty years, promotions) and otherwise from the best supporting sentences of the top
passages.  Every number it prints comes from a fact or a passage it cites.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, time
from typing import Any

from agent.catalog_match import ProductRef, distinctive_words
from agent.compose_store import compose_services, compose_store_info
from agent.composition import Composition
from agent.extractive import coverage, select_evidence
from agent.intents import Intent, asks_open_status, elapsed_days
from agent.phrases import day_label, long_date, money, phrase, table
from agent.reply import Citation, Warning
from agent.retrieval import Subject
from knowledge.hours import hours_on, render_ranges, render_weekly, status_at
from knowledge.index import Passage
from knowledge.text import fold, resolve_when, search_tokens, words
from knowledge.trust import assess_evidence, store_week

# Below this share of the question's (IDF-weighted) words found in the evidence, an
# extractive answer is not considered grounded.  Calibrated on the demo suite (README).
MIN_COVERAGE = 0.45
# multilingual-e5 cosine similarities are compressed (unrelated pairs ~0.80-0.83, answers ~0.84+).
MIN_CROSS_LINGUAL_SIMILARITY = 0.84
MAX_CHARS = 700

_STORE_WORDS = re.compile(r"\b(negozi?o?|punto vendita|punti vendita|sede|sedi|store|stores|shop|shops|showroom)\b")
_EXPRESS_WORDS = re.compile(r"\b(express|espress\w*|veloce|rapida|24 ?h|24 ore|next day)\b")
_REFUND_WORDS = re.compile(r"\b(rimbors\w*|refund\w*|riaccredit\w*|money back)\b")
_COST_WORDS = re.compile(r"\b(quanto|costo|costa|costi|prezzo|pago|pagare|gratis|gratuit\w*|free|how much|cost\w*|price|charge\w*|fee)\b")
_DURATION_WORDS = re.compile(r"\b(quant\w* giorni|entro quando|entro quanto|quanto tempo|quanti anni|quanto dura|durata|how many days|how long|how many years|days|giorni|anni|years)\b")


@dataclass
class ComposeInput:
    message: str
    lang: str
    intent: Intent
    subject: Subject
    passages: list[Passage]
    state: Any  # knowledge.freshness.KnowledgeState
    now: datetime  # in the brand timezone
    idf: Callable[[str], float]
    known: Callable[[str], bool]
    clean: Callable[[str], str]  # strips instructions planted in crawled content
    country: str = "IT"
    documents: list[Any] = field(default_factory=list)  # all documents (store amenities, addresses)
    context: str | None = None  # the previous customer message, when this one is a follow-up

    @property
    def question(self) -> str:
        """The question as the customer means it: a follow-up ("E per una e-bike?") with the
        message it follows, for choosing and checking evidence."""
        return f"{self.message} {self.context}" if self.context else self.message


def citation_for_fact(fact: Any, stale: bool = False) -> Citation:
    return Citation(source_id=fact.source_id, url=fact.url, title=fact.title, updated_at=fact.effective_at, stale=stale)


def citation_for_passage(passage: Passage, stale: bool = False) -> Citation:
    return Citation(passage.source_id, passage.url, passage.title, passage.updated_at, stale)


# --- warnings, phrased for the customer ---------------------------------------------------------
def _too_old(state: Any, fact: Any) -> bool:
    verdict = state.verdict(fact)
    return bool(verdict.age_days is not None and verdict.max_age_days is not None
                and verdict.age_days > verdict.max_age_days)


def customer_warnings(trust_warnings: list[Any], lang: str, state: Any = None) -> list[Warning]:
    tz = state.tz if state is not None else None
    out: list[Warning] = []
    for w in trust_warnings:
        facts = list(w.facts)
        sources = sorted({f.url or f.source_id for f in facts})
        if w.kind == "conflict" and len(facts) >= 2:
            winner, loser = facts[0], facts[1]
            detail = phrase(
                lang, "conflict_warning", loser=loser.title, loser_date=long_date(loser.effective_at, lang, tz),
                loser_value=loser.display, winner=winner.title, winner_date=long_date(winner.effective_at, lang, tz),
            )
            if state is not None and _too_old(state, loser):
                # The losing side is also past its max age: a stale page the content team must fix.
                # The conflict note already tells the customer; `_finish` does not print this twice.
                stale = phrase(lang, "stale_warning", title=loser.title, date=long_date(loser.effective_at, lang, tz))
                out.append(Warning(kind="stale", detail=stale, sources=[loser.url or loser.source_id]))
        elif w.kind == "expired" and facts:
            fact = facts[0]
            detail = phrase(lang, "expired_warning", title=fact.title, date=long_date(fact.valid_through, lang))
        elif facts:
            fact = facts[0]
            detail = phrase(lang, "stale_warning", title=fact.title, date=long_date(fact.effective_at, lang, tz))
        else:
            continue
        out.append(Warning(kind=w.kind, detail=detail, sources=sources))
    return out


def _apply_trust(comp: Composition, trust: Any, lang: str, relevant: Callable[[Any], bool] = lambda w: True,
                 state: Any = None) -> None:
    for warning in customer_warnings([w for w in trust.warnings if relevant(w)], lang, state):
        comp.add_warning(warning)


def _finish(comp: Composition, lang: str, as_of: str | None = None) -> Composition:
    parts = [comp.text]
    if as_of:
        parts.append(as_of)
    conflict_sources = {src for w in comp.warnings if w.kind == "conflict" for src in w.sources}
    parts.extend(dict.fromkeys(
        w.detail for w in comp.warnings
        if not (w.kind == "stale" and w.sources and set(w.sources) <= conflict_sources)
    ))
    comp.text = "\n\n".join(p for p in parts if p)
    return comp


# --- hours ---------------------------------------------------------------------------------
def compose_hours(inp: ComposeInput) -> Composition | None:

    state, lang = inp.state, inp.lang
    stores = list(state.stores)
    folded = fold(inp.message)
    if not inp.subject.store_key and len(stores) > 1 and not _STORE_WORDS.search(folded):
        return None  # "when does customer service answer?" is not about a store's hours
    when = resolve_when(inp.message, inp.now, lang=lang, country=inp.country)
    if when is None and asks_open_status(folded):
        when = resolve_when("now" if lang == "en" else "adesso", inp.now, lang=lang, country=inp.country)
    targets = [s for s in stores if s.key == inp.subject.store_key] if inp.subject.store_key else []
    if not targets:
        if len(stores) == 1:
            targets = stores
        elif when is not None and stores:
            targets = stores  # one line per store for that day
        else:
            if not stores:
                return None
            names = ", ".join(s.city or s.name for s in stores)
            comp = Composition(phrase(lang, "which_store", stores=names), grounded=True, kind="clarify")
            for store in stores:
                _, _, facts = store_week(state, store.key)
                for fact in facts[:1]:
                    comp.add_citation(citation_for_fact(fact))
            return comp

    lines: list[str] = []
    used: list[Any] = []
    weekday = None
    special_day = None
    for store in targets:
        weekly, specials, facts = store_week(state, store.key)
        if weekly is None and not specials:
            continue
        label = store.name
        if when is None:
            lines.append(phrase(lang, "weekly", store=label, hours=render_weekly(weekly, lang)) if weekly else "")
            used += facts
            continue
        if when.is_now:
            status = status_at(weekly, specials, inp.now)
            if status.is_open and status.closes_at:
                lines.append(phrase(lang, "open_now_until", store=label, time=_hm(status.closes_at.time())))
            elif status.next_opens_at:
                nxt = f"{day_label(status.next_opens_at.date(), inp.now.date(), lang)} {_at(lang)} {_hm(status.next_opens_at.time())}"
                lines.append(phrase(lang, "closed_now_next", store=label, next=nxt))
            else:
                lines.append(phrase(lang, "closed_now", store=label))
            weekday, special_day = inp.now.weekday(), inp.now.date()
        else:
            ranges, rule = hours_on(weekly, specials, when.day)
            day_text = day_label(when.day, inp.now.date(), lang)
            if ranges is None:
                lines.append(phrase(lang, "unknown_day", store=label, day=day_text))
            elif not ranges:
                lines.append(phrase(lang, "closed_day", store=label, day=day_text))
            else:
                lines.append(phrase(lang, "open_range", store=label, day=day_text, ranges=render_ranges(ranges, lang)))
            if rule == "special" and ranges is not None:
                lines[-1] = lines[-1][:-1] + " " + phrase(lang, "special_note") + "."
            if when.time is not None and ranges:
                at = inp.now.replace(year=when.day.year, month=when.day.month, day=when.day.day,
                                     hour=when.time.hour, minute=when.time.minute)
                status = status_at(weekly, specials, at)
                if not status.is_open:
                    lines[-1] += " " + (f"Alle {_hm(when.time)} è chiuso." if lang == "it"
                                        else f"At {_hm(when.time)} it is closed.")
            weekday, special_day = when.day.weekday(), when.day
        used += [f for f in facts if _fact_relevant(f, weekday, special_day)] or facts
    lines = [line for line in lines if line]
    if not lines:
        return None
    comp = Composition(" ".join(lines) if len(lines) <= 1 else "\n".join(lines), grounded=True, kind="hours")
    for fact in _dedupe_docs(used):
        comp.add_citation(citation_for_fact(fact))
    dates = [f.effective_at for f in used if f.effective_at]
    as_of = phrase(lang, "hours_as_of", date=long_date(max(dates), lang, inp.now.tzinfo)) if dates else None
    subjects = [f"store:{s.key}:" for s in targets]
    trust = assess_evidence([], state, subjects=subjects)

    def relevant(w: Any) -> bool:
        if weekday is None:
            return True
        return w.subject.endswith(f":weekday:{weekday}") or (
            special_day is not None and w.subject.endswith(f":special:{special_day.isoformat()}")
        )

    _apply_trust(comp, trust, lang, relevant, state)
    return _finish(comp, lang, as_of)


def _fact_relevant(fact: Any, weekday: int | None, day: Any) -> bool:
    if weekday is None:
        return True
    return fact.subject.endswith(f":weekday:{weekday}") or (day is not None and fact.subject.endswith(f":special:{day}"))


def _at(lang: str) -> str:
    return "alle" if lang == "it" else "at"


def _hm(value: time) -> str:
    return f"{value.hour}:{value.minute:02d}"


def _dedupe_docs(items: list[Any]) -> list[Any]:
    """The first fact or passage of each document, in order."""
    seen: set[str] = set()
    out = []
    for item in items:
        if item.doc_id not in seen:
            seen.add(item.doc_id)
            out.append(item)
    return out


# --- products ------------------------------------------------------------------------------
def compose_product(inp: ComposeInput, product: ProductRef) -> Composition | None:

    state, lang = inp.state, inp.lang
    price = state.winner(f"product:{product.key}:price")
    availability = state.winner(f"product:{product.key}:availability")
    if price is None and availability is None:
        return None
    parts = []
    used = []
    if price is not None and (inp.intent.name != "availability" or availability is None):
        parts.append(phrase(lang, "price", product=product.title,
                            price=money(float(price.value), price.unit or "EUR", lang)))
        used.append(price)
    if availability is not None:
        label = table(lang, "availability").get(str(availability.value), str(availability.value))
        parts.append(phrase(lang, "availability_line", product=product.title, availability=label))
        used.append(availability)
    comp = Composition(" ".join(parts), grounded=True, kind="product")
    for fact in _dedupe_docs(used):
        comp.add_citation(citation_for_fact(fact))
    dates = [f.effective_at for f in used if f.effective_at]
    as_of_key = "price_as_of" if price in used else "updated_as_of"
    as_of = phrase(lang, as_of_key, date=long_date(max(dates), lang, inp.now.tzinfo)) if dates else None
    _apply_trust(comp, assess_evidence([], state, subjects=[f"product:{product.key}:"]), lang, state=state)
    product_passages = [p for p in inp.passages if p.doc_id == product.doc_id]
    _add_supporting_sentence(comp, replace(inp, passages=product_passages))
    return _finish(comp, lang, as_of)


# --- policies: shipping rule, returns, warranty ----------------------------------------------
def compose_policy(inp: ComposeInput) -> Composition | None:

    state, lang, folded = inp.state, inp.lang, fold(inp.message)
    name = inp.intent.name
    if name == "shipping":
        if _EXPRESS_WORDS.search(folded):
            return None  # express and special services: the brand's own sentences answer better
        cost = state.winner("policy:shipping_cost")
        threshold = state.winner("policy:free_shipping_threshold")
        amount = inp.intent.amount
        if cost is None or not (amount is not None or _COST_WORDS.search(folded)):
            return None
        # The brand's currency is the one its policy is written in (EUR, GBP, CHF...).
        currency = cost.unit or "EUR"
        c = money(float(cost.value), currency, lang)
        if threshold is not None and amount is not None:
            t = money(float(threshold.value), threshold.unit or currency, lang)
            key = "shipping_free" if amount >= float(threshold.value) else "shipping_paid"
            text = phrase(lang, key, amount=money(amount, currency, lang), cost=c, threshold=t)
            used = [cost, threshold]
        elif threshold is not None:
            text = phrase(lang, "shipping_rule", cost=c,
                          threshold=money(float(threshold.value), threshold.unit or currency, lang))
            used = [cost, threshold]
        else:
            text = phrase(lang, "shipping_cost", cost=c)
            used = [cost]
    elif name == "returns":
        refund = _REFUND_WORDS.search(folded)
        fact = state.winner("policy:refund_days" if refund else "policy:return_days")
        elapsed = elapsed_days(folded)
        if fact is None or not (elapsed is not None or _DURATION_WORDS.search(folded)):
            return None
        days = _num(fact.value)
        if refund:
            text = phrase(lang, "refund", days=days)
        elif elapsed is not None:
            key = "returns_in_time" if elapsed <= float(fact.value) else "returns_too_late"
            text = phrase(lang, key, days=days, elapsed=str(elapsed))
        else:
            text = phrase(lang, "returns", days=days)
        used = [fact]
    elif name == "warranty":
        fact = state.winner("policy:warranty_years")
        if fact is None or not _DURATION_WORDS.search(folded):
            return None
        text = phrase(lang, "warranty", years=_num(fact.value))
        used = [fact]
    else:
        return None
    comp = Composition(text, grounded=True, kind=f"policy_{name}")
    for fact in used:
        comp.add_citation(citation_for_fact(_best_supported(fact, inp)))
    _add_supporting_sentence(comp, inp)
    _apply_trust(comp, assess_evidence([], state, subjects=[f.subject for f in used]), lang)
    return _finish(comp, lang)


def _best_supported(fact: Any, inp: ComposeInput) -> Any:
    """Among the facts that agree with the winner, the one whose document ranked highest for
    this question: the citation points to the page about the topic, not to a banner."""
    agreeing = [f for f in inp.state.facts_for(fact.subject) if f.value == fact.value]
    rank = {p.doc_id: i for i, p in reversed(list(enumerate(inp.passages)))}
    ranked = sorted((f for f in agreeing if f.doc_id in rank), key=lambda f: rank[f.doc_id])
    return ranked[0] if ranked else fact


def _add_supporting_sentence(comp: Composition, inp: ComposeInput) -> None:
    """One sentence from the sources that adds what the question asked beyond the rule itself
    (a surcharge, a condition, how the promotion is applied)."""

    covered = set(search_tokens(comp.text))
    asked = set(search_tokens(inp.message)) - covered
    if not asked:
        return
    usable = [p for p in inp.passages if p.doc_id not in _stale_docs(inp)]
    candidates = select_evidence(inp.message, usable, inp.idf, max_sentences=3, clean=inp.clean)
    # The sentence that answers most of what the rule left unanswered.
    best = max(candidates, default=None,
               key=lambda e: sum(inp.idf(t) for t in set(search_tokens(e.sentence)) & asked))
    if best is not None and set(search_tokens(best.sentence)) & asked:
        comp.text = f"{comp.text} {_trim(best.sentence, 300)}"
        comp.add_citation(citation_for_passage(best.passage))


def _stale_docs(inp: ComposeInput) -> set[str]:

    return set(assess_evidence(inp.passages, inp.state).stale_doc_ids)


def _num(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


# --- promotions ----------------------------------------------------------------------------
def compose_promotion(inp: ComposeInput) -> Composition | None:
    state, lang = inp.state, inp.lang
    promos = state.facts_for("promotion:")
    if not promos:
        return None
    today = inp.now.date()
    asked = set(fold(inp.message).split())
    named = [p for p in promos if asked & set(fold(p.title).split()) - {"la", "il", "di", "the", "promo", "promozione"}]
    candidates = named or promos
    active = [p for p in candidates if not p.valid_through or p.valid_through >= today]
    expired = [p for p in candidates if p.valid_through and p.valid_through < today]
    lines = [phrase(lang, "promo_active", title=p.title, until=long_date(p.valid_through, lang)) for p in active]
    if named:
        lines += [phrase(lang, "promo_expired", title=p.title, until=long_date(p.valid_through, lang)) for p in expired]
    if not lines:
        lines = [phrase(lang, "no_promo")]
    comp = Composition("\n".join(lines), grounded=True, kind="promotion")
    for fact in active + (expired if named else []):
        comp.add_citation(citation_for_fact(fact, stale=fact in expired))
    for fact in expired if named else []:
        comp.add_warning(Warning("expired", phrase(lang, "expired_warning", title=fact.title,
                                                   date=long_date(fact.valid_through, lang)), [fact.url or fact.source_id]))
    if active and not expired:
        promo_docs = {f.doc_id for f in active}
        inp_promos = replace(inp, passages=[p for p in inp.passages if p.doc_id in promo_docs])
        _add_supporting_sentence(comp, inp_promos)
    return _finish(comp, lang)


# --- extractive fallback -----------------------------------------------------------------------
def compose_extractive(inp: ComposeInput) -> Composition:

    lang = inp.lang
    stale = _stale_docs(inp)
    # Text from a document with a stale, expired or superseded fact is not presented as current
    # when other passages can answer.
    current = [p for p in inp.passages if p.doc_id not in stale]
    evidence = select_evidence(inp.question, current, inp.idf, clean=inp.clean, language=lang) if current else []
    if not evidence:
        evidence = select_evidence(inp.question, inp.passages, inp.idf, clean=inp.clean, language=lang)
    if not evidence:
        return Composition("", grounded=False, kind="extractive")
    joined = " ".join(e.sentence for e in evidence)
    if any(e.passage.language == lang for e in evidence):
        support = coverage(inp.question, " ".join([joined] + [e.passage.title for e in evidence]), inp.idf,
                           inp.known)
        grounded = support >= MIN_COVERAGE
    else:
        # Across languages words cannot be compared; the multilingual embedding can.
        best = max((e.passage.dense_score or 0.0) for e in evidence)
        grounded = best >= MIN_CROSS_LINGUAL_SIMILARITY
    used_passages = _dedupe_docs([e.passage for e in evidence])
    trust = assess_evidence(used_passages, inp.state)
    stale_docs = set(trust.stale_doc_ids)
    text = _trim(joined)
    if used_passages and all(p.language and p.language != lang for p in used_passages):
        text = phrase(lang, "other_language") + " " + text
    comp = Composition(text, grounded=grounded, kind="extractive")
    for passage in used_passages:
        comp.add_citation(citation_for_passage(passage, stale=passage.doc_id in stale_docs))
    dated = [p.updated_at for p in used_passages if p.updated_at]
    _apply_trust(comp, trust, lang)
    if used_passages and all(p.doc_id in stale_docs for p in used_passages):
        comp.needs_human = True
    as_of = None
    if dated and comp.grounded:
        as_of = phrase(lang, "as_of", date=long_date(max(dated), lang, inp.now.tzinfo))
        comp.text = f"{comp.text} {as_of}"
    return _finish(comp, lang)


def _trim(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _hours(inp: ComposeInput, product: ProductRef | None) -> Composition | None:
    return compose_hours(inp)


def _product(inp: ComposeInput, product: ProductRef | None) -> Composition | None:
    return compose_product(inp, product) if product is not None else None


def _policy(inp: ComposeInput, product: ProductRef | None) -> Composition | None:
    return compose_policy(inp)


def _promotion(inp: ComposeInput, product: ProductRef | None) -> Composition | None:
    return compose_promotion(inp)


def _services(inp: ComposeInput, product: ProductRef | None) -> Composition | None:
    return compose_services(inp.message, inp.lang, inp.subject.store_key, list(inp.state.stores), inp.documents,
                            inp.idf)


def _store_info(inp: ComposeInput, product: ProductRef | None) -> Composition | None:
    return compose_store_info(inp.lang, inp.subject.store_key, list(inp.state.stores), inp.documents)


StructuredComposer = Callable[[ComposeInput, "ProductRef | None"], "Composition | None"]

# Intent → the composer that answers it from structured facts; None lets the extractive answer speak.
STRUCTURED_COMPOSERS: dict[str, StructuredComposer] = {
    "hours": _hours,
    "price": _product,
    "availability": _product,
    "shipping": _policy,
    "returns": _policy,
    "warranty": _policy,
    "promotion": _promotion,
    "services": _services,
    "store_info": _store_info,
}


def compose_offline(inp: ComposeInput, product: ProductRef | None) -> Composition:
    """Structured answer when the question is about a fact we hold, else extractive."""
    name = inp.intent.name
    composer = STRUCTURED_COMPOSERS.get(name)
    structured = composer(inp, product) if composer is not None else None
    if structured is None and product is not None and name in ("general", "price", "availability"):
        # Without a price or stock question, one shared word ("una nuova" ~ "Porta Nuova") is not
        # enough to assume the customer means a product.
        named = set(distinctive_words(words(inp.message))) & product.tokens
        if name != "general" or len(named) >= 2:
            structured = compose_product(inp, product)
    return structured or compose_extractive(inp)
