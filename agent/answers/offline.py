"""The offline composer: deterministic, extractive, cited.

It answers from structured data when the data can carry the answer: a store's hours on a day,
a product's price or stock from the feed, a store's services; a shipping rule applied to the
customer's amount or a return window applied to the days elapsed, but only when the rule is
unambiguous and written in the very passage quoted as evidence. Otherwise it quotes one source
unit (an FAQ entry's whole answer, or the best sentences of one page passage): a number read
by a regex from one page is never applied to another question.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import cache
from typing import Any

from agent.answers.composition import Composition
from agent.answers.extractive import select_evidence, sentences
from agent.answers.store import compose_services, compose_store_info
from agent.answers.units import AnswerUnit, cut_at_sentence
from agent.catalog_match import ProductRef
from agent.phrases import day_label, language_name, lexicons, long_date, money, phrase, phrase_map
from agent.reply import Citation, Warning
from agent.signals.intents import Intent, asks_open_status, elapsed_days
from agent.turn.state import Subject
from knowledge.hours import hours_on, render_ranges, render_weekly, status_at
from knowledge.index import Passage
from knowledge.text import When, content_words, fold, resolve_when, search_tokens
from knowledge.trust import assess_evidence, store_week


@cache
def _words(name: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for table in lexicons("answer_words").values() for p in (table or {}).get(name) or ())


def _says(name: str, folded: str) -> bool:
    return any(p.search(folded) for p in _words(name))


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
    units: list[AnswerUnit] = field(default_factory=list)  # the retrieved passages as answer units
    store_words: frozenset[str] = frozenset()  # words the brand's store names share ("farmacia")
    spread: float = 0.0  # the index's null standard deviation of similarity (its calibration)
    # Whether two units say the same thing (one FAQ answer in two languages): not rivals.
    same_answer: Callable[[AnswerUnit, AnswerUnit], bool] = lambda a, b: False
    lexical_doc: str | None = None  # the document the question's words point at (see Retrieval)

    @property
    def question(self) -> str:
        """The question as the customer means it: a follow-up ("And the large one?") with the
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
    names_a_store = _says("store", folded) or bool(set(folded.split()) & inp.store_words)
    if not inp.subject.store_key and len(stores) > 1 and not names_a_store:
        return None  # "when does customer service answer?" is not about a store's hours
    when = resolve_when(inp.message, inp.now, lang=lang, country=inp.country)
    if when is None and asks_open_status(folded):
        when = When(inp.now.date(), None, True, "")
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
                nxt = phrase(lang, "day_at_time", day=day_label(status.next_opens_at.date(), inp.now.date(), lang),
                             time=_hm(status.next_opens_at.time()))
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
                    lines[-1] += " " + phrase(lang, "closed_at_time", time=_hm(when.time))
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
        label = phrase_map(lang, "availability").get(str(availability.value), str(availability.value))
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


# --- policies applied to the customer's case -------------------------------------------------
def compose_policy(inp: ComposeInput) -> Composition | None:
    """The shipping rule applied to the customer's amount, or the return window to the days
    elapsed: only when the customer gave that number, the rule's values are stated in the best
    source unit, and that unit states no competing value of the same kind. The unit's other
    sentences (other services, surcharges, exceptions) follow the computed line; the sentence that
    states the rule itself is not repeated, so the reply gives one answer to the customer's case."""
    state, lang, folded = inp.state, inp.lang, fold(inp.message)
    name = inp.intent.name
    for unit in inp.units[:3]:
        if name == "shipping":
            amount = inp.intent.amount
            if amount is None or _says("express", folded):
                return None  # no case to apply the rule to, or another service than the standard one
            cost = _unit_fact(inp, unit, "policy:shipping_cost")
            threshold = _unit_fact(inp, unit, "policy:free_shipping_threshold")
            if cost is None or threshold is None:
                continue
            currency = cost.unit or "EUR"
            key = "shipping_free" if amount >= float(threshold.value) else "shipping_paid"
            text = phrase(lang, key, amount=money(amount, currency, lang),
                          cost=money(float(cost.value), currency, lang),
                          threshold=money(float(threshold.value), threshold.unit or currency, lang))
            used = [cost, threshold]
        elif name == "returns":
            elapsed = elapsed_days(folded)
            window = _unit_fact(inp, unit, "policy:return_days")
            if elapsed is None:
                return None
            if window is None:
                continue
            key = "returns_in_time" if elapsed <= float(window.value) else "returns_too_late"
            text = phrase(lang, key, days=_num(window.value), elapsed=str(elapsed))
            used = [window]
        else:
            return None
        break
    else:
        return None
    rule_values = {round(float(f.value), 2) for f in used}
    rest = [s for s in sentences(unit.text) if not rule_values & {round(float(n), 2) for n in _numbers(s)}]
    comp = Composition(" ".join([text, *rest]), grounded=True, kind=f"policy_{name}")
    comp.evidence = [unit.text]
    comp.add_citation(citation_for_passage(unit.passage))
    _apply_trust(comp, assess_evidence([], state, subjects=[f.subject for f in used]), lang)
    return _finish(comp, lang)


def _unit_fact(inp: ComposeInput, unit: AnswerUnit, subject: str) -> Any:
    """The one fact of `subject` read from the unit's own document, if its value is written in the
    unit's text and the document states no other value for it (unambiguous)."""
    facts = [f for f in inp.state.facts_for(subject) if f.doc_id == unit.doc_id]
    values = {round(float(f.value), 2) for f in facts}
    if len(values) != 1:
        return None
    fact = facts[0]
    if not any(_num(fact.value) in number for number in _numbers(unit.text)):
        return None
    return fact


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _numbers(text: str) -> list[str]:
    return [n.replace(",", ".").removesuffix(".00").removesuffix(".0") for n in _NUMBER.findall(text)]


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
    # The promotion the customer means: one whose title shares a content word with the message
    # ("the summer offer"), else, when nothing is on now, the one whose page the search found for
    # it ("is the BLACK25 code still valid?"): then the customer hears that it ended.
    asked = set(content_words(inp.message))
    named = [p for p in promos if asked & set(content_words(p.title))]
    if not named and not any(_current(p, today) for p in promos):
        found = {u.doc_id for u in inp.units[:2]} | ({inp.lexical_doc} if inp.lexical_doc else set())
        named = [p for p in promos if p.doc_id in found]
    candidates = named or promos
    active = [p for p in candidates if _current(p, today)]
    expired = [p for p in candidates if not _current(p, today)]
    lines = [phrase(lang, "promo_active", title=p.title, until=long_date(p.valid_through, lang)) for p in active]
    # An expired promotion the customer named is said once, by its `expired` warning (below).
    if not lines and not (named and expired):
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


def _current(promotion: Any, today: date) -> bool:
    return not promotion.valid_through or promotion.valid_through >= today


# --- one source unit ------------------------------------------------------------------------
def choose_unit(inp: ComposeInput) -> tuple[AnswerUnit | None, float | None]:
    """The unit to quote, and the similarity of its best competitor (another document that does
    not say the same thing), which tells how clearly the question points at it.

    Units whose match is as strong as the best's within `tie` (a fraction of this index's null
    spread) are tied in meaning; the one carrying more of the question's own words wins. A unit
    from a document whose facts are too old is passed over when a current one is tied with it."""
    units = inp.units
    if not units:
        return None, None
    tie = TIE_SIGMAS * inp.spread
    best_similarity = units[0].similarity
    tied = [u for u in units[:4] if u.similarity >= best_similarity - tie]
    old = _too_old_docs(inp, [u.passage for u in tied])
    current = [u for u in tied if u.doc_id not in old] or tied
    # The reply's own language first (a bilingual FAQ says the same thing twice), then the words.
    chosen = max(current, key=lambda u: (not u.passage.language or u.passage.language == inp.lang,
                                         u.doc_id == inp.lexical_doc, u.support, u.similarity))
    rival = next((u.similarity for u in units if u.doc_id != chosen.doc_id and not inp.same_answer(chosen, u)), None)
    return chosen, rival


def compose_unit(inp: ComposeInput) -> Composition:
    """The chosen source unit, quoted: an FAQ entry's whole answer or one page passage's sentences."""
    lang = inp.lang
    best, rival = choose_unit(inp)
    if best is None:
        return Composition("", grounded=False, kind="extractive")
    passage = best.passage
    trust = assess_evidence([passage], inp.state)
    text = best.text
    same_language = not passage.language or passage.language == lang
    if not same_language:
        text = phrase(lang, "other_language", language=language_name(passage.language, lang)) + " " + text
    comp = Composition(text, grounded=True, kind="extractive", evidence=[best.text],
                       similarity=best.similarity, rival=rival, same_language=same_language,
                       corroborated=best.doc_id == inp.lexical_doc)
    stale = set(trust.stale_doc_ids)
    comp.add_citation(citation_for_passage(passage, stale=passage.doc_id in stale))
    _apply_trust(comp, trust, lang, state=inp.state)
    # The only evidence is too old to present as current: say so and offer a person.
    if passage.doc_id in _too_old_docs(inp, [passage]):
        comp.needs_human = True
    as_of = phrase(lang, "as_of", date=long_date(passage.updated_at, lang, inp.now.tzinfo)) if passage.updated_at else None
    if as_of:
        comp.text = f"{comp.text} {as_of}"
    return _finish(comp, lang)


# Units whose similarity differs by less than this many null standard deviations are tied in meaning.
TIE_SIGMAS = 0.25


def _too_old_docs(inp: ComposeInput, passages: list[Passage]) -> set[str]:
    """Documents with a fact past its max age (not merely outvoted on one subject by a newer source)."""
    out: set[str] = set()
    for passage in passages:
        for fact in inp.state.facts:
            if fact.doc_id == passage.doc_id and _too_old(inp.state, fact):
                out.add(passage.doc_id)
                break
    return out


def _trim(text: str, limit: int = 300) -> str:
    return cut_at_sentence(text, limit)


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
    """A structured answer when the question asks for data we hold, else the best source unit.

    A product named in a question about how to use, choose or maintain it is not a price
    question: only price and stock questions get the product card."""
    composer = STRUCTURED_COMPOSERS.get(inp.intent.name)
    structured = composer(inp, product) if composer is not None else None
    return structured or compose_unit(inp)
