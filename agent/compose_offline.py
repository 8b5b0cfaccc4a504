"""The offline composer: deterministic, extractive, cited.

It answers from structured facts when the question is about one (opening hours on a day,
a product's price or stock, the shipping rule applied to the customer's amount, return days,
warranty years, promotions) and otherwise from the best supporting sentences of the top
passages.  Every number it prints comes from a fact or a passage it cites.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from agent.catalog_match import ProductRef
from agent.composition import Composition
from agent.extractive import coverage, select_evidence
from agent.intents import Intent
from agent.phrases import day_label, long_date, money, phrase, table
from agent.reply import Citation, Warning
from agent.retrieval import Subject
from knowledge.search import Passage
from knowledge.text import fold

# Below this share of the question's (IDF-weighted) words found in the evidence, an
# extractive answer is not considered grounded.  Calibrated on the demo suite (README).
MIN_COVERAGE = 0.5
MAX_CHARS = 700

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
    clean: Callable[[str], str]  # strips instructions planted in crawled content
    country: str = "IT"


def citation_for_fact(fact: Any, stale: bool = False) -> Citation:
    return Citation(source_id=fact.source_id, url=fact.url, title=fact.title, updated_at=fact.effective_at, stale=stale)


def citation_for_passage(passage: Passage, stale: bool = False) -> Citation:
    return Citation(passage.source_id, passage.url, passage.title, passage.updated_at, stale)


# --- warnings, phrased for the customer ---------------------------------------------------------
def customer_warnings(trust_warnings: list[Any], lang: str) -> list[Warning]:
    out: list[Warning] = []
    for w in trust_warnings:
        facts = list(w.facts)
        sources = sorted({f.url or f.source_id for f in facts})
        if w.kind == "conflict" and len(facts) >= 2:
            winner, loser = facts[0], facts[1]
            detail = phrase(
                lang, "conflict_warning", loser=loser.title, loser_date=long_date(loser.effective_at, lang),
                loser_value=loser.display, winner=winner.title, winner_date=long_date(winner.effective_at, lang),
            )
        elif w.kind == "expired" and facts:
            fact = facts[0]
            detail = phrase(lang, "expired_warning", title=fact.title, date=long_date(fact.valid_through, lang))
        elif facts:
            fact = facts[0]
            detail = phrase(lang, "stale_warning", title=fact.title, date=long_date(fact.effective_at, lang))
        else:
            continue
        out.append(Warning(kind=w.kind, detail=detail, sources=sources))
    return out


def _apply_trust(comp: Composition, trust: Any, lang: str, relevant: Callable[[Any], bool] = lambda w: True) -> None:
    for warning in customer_warnings([w for w in trust.warnings if relevant(w)], lang):
        comp.add_warning(warning)


def _finish(comp: Composition, lang: str, as_of: str | None = None) -> Composition:
    parts = [comp.text]
    if as_of:
        parts.append(as_of)
    parts.extend(w.detail for w in comp.warnings)
    comp.text = "\n\n".join(p for p in parts if p)
    return comp


# --- hours ---------------------------------------------------------------------------------
def compose_hours(inp: ComposeInput) -> Composition | None:
    from knowledge.hours import hours_on, render_ranges, render_weekly, status_at
    from knowledge.opening import store_week
    from knowledge.trust import assess_evidence
    from knowledge.when import resolve_when

    state, lang = inp.state, inp.lang
    stores = list(state.stores)
    when = resolve_when(inp.message, inp.now, lang=lang, country=inp.country)
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
    as_of = phrase(lang, "hours_as_of", date=long_date(max(dates), lang)) if dates else None
    subjects = [f"store:{s.key}:" for s in targets]
    trust = assess_evidence([], state, subjects=subjects)

    def relevant(w: Any) -> bool:
        if weekday is None:
            return True
        return w.subject.endswith(f":weekday:{weekday}") or (
            special_day is not None and w.subject.endswith(f":special:{special_day.isoformat()}")
        )

    _apply_trust(comp, trust, lang, relevant)
    return _finish(comp, lang, as_of)


def _fact_relevant(fact: Any, weekday: int | None, day: Any) -> bool:
    if weekday is None:
        return True
    return fact.subject.endswith(f":weekday:{weekday}") or (day is not None and fact.subject.endswith(f":special:{day}"))


def _at(lang: str) -> str:
    return "alle" if lang == "it" else "at"


def _hm(value: time) -> str:
    return f"{value.hour}:{value.minute:02d}"


def _dedupe_docs(facts: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for fact in facts:
        if fact.doc_id not in seen:
            seen.add(fact.doc_id)
            out.append(fact)
    return out


# --- products ------------------------------------------------------------------------------
def compose_product(inp: ComposeInput, product: ProductRef) -> Composition | None:
    from knowledge.trust import assess_evidence

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
    as_of = phrase(lang, "price_as_of", date=long_date(max(dates), lang)) if dates else None
    _apply_trust(comp, assess_evidence([], state, subjects=[f"product:{product.key}:"]), lang)
    return _finish(comp, lang, as_of)


# --- policies: shipping rule, returns, warranty ----------------------------------------------
def compose_policy(inp: ComposeInput) -> Composition | None:
    from knowledge.trust import assess_evidence

    state, lang, folded = inp.state, inp.lang, fold(inp.message)
    name = inp.intent.name
    used: list[Any] = []
    if name == "shipping":
        cost = state.winner("policy:shipping_cost")
        threshold = state.winner("policy:free_shipping_threshold")
        amount = inp.intent.amount
        if cost is None or not (amount is not None or _COST_WORDS.search(folded)):
            return None
        c = money(float(cost.value), "EUR", lang)
        if threshold is not None and amount is not None:
            t = money(float(threshold.value), "EUR", lang)
            key = "shipping_free" if amount >= float(threshold.value) else "shipping_paid"
            text = phrase(lang, key, amount=money(amount, "EUR", lang), cost=c, threshold=t)
            used = [cost, threshold]
        elif threshold is not None:
            text = phrase(lang, "shipping_rule", cost=c, threshold=money(float(threshold.value), "EUR", lang))
            used = [cost, threshold]
        else:
            text = phrase(lang, "shipping_cost", cost=c)
            used = [cost]
        subjects = ["policy:shipping_cost", "policy:free_shipping_threshold"]
    elif name in ("returns", "warranty"):
        if not _DURATION_WORDS.search(folded):
            return None
        fact = state.winner("policy:return_days" if name == "returns" else "policy:warranty_years")
        if fact is None:
            return None
        number = _num(fact.value)
        text = phrase(lang, name, days=number, years=number)
        used = [fact]
        subjects = [fact.subject]
    else:
        return None
    comp = Composition(text, grounded=True, kind=f"policy_{name}")
    for fact in _dedupe_docs(used):
        comp.add_citation(citation_for_fact(fact))
    _apply_trust(comp, assess_evidence([], state, subjects=subjects), lang)
    return _finish(comp, lang)


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
    return comp


# --- extractive fallback -----------------------------------------------------------------------
def compose_extractive(inp: ComposeInput) -> Composition:
    from knowledge.trust import assess_evidence

    lang = inp.lang
    evidence = select_evidence(inp.message, inp.passages, inp.idf, clean=inp.clean)
    if not evidence:
        return Composition("", grounded=False, kind="extractive")
    joined = " ".join(e.sentence for e in evidence)
    support = coverage(inp.message, " ".join([joined] + [e.passage.title for e in evidence]), inp.idf)
    used_passages = _unique_passages([e.passage for e in evidence])
    trust = assess_evidence(used_passages, inp.state)
    stale_docs = set(trust.stale_doc_ids)
    text = _trim(joined)
    if used_passages and all(p.language and p.language != lang for p in used_passages):
        text = phrase(lang, "other_language") + " " + text
    comp = Composition(text, grounded=support >= MIN_COVERAGE, kind="extractive")
    for passage in used_passages:
        comp.add_citation(citation_for_passage(passage, stale=passage.doc_id in stale_docs))
    dated = [p.updated_at for p in used_passages if p.updated_at]
    _apply_trust(comp, trust, lang)
    if used_passages and all(p.doc_id in stale_docs for p in used_passages):
        comp.needs_human = True
    as_of = None
    if dated and comp.grounded:
        as_of = phrase(lang, "as_of", date=long_date(max(dated), lang))
        comp.text = f"{comp.text} {as_of}"
    return _finish(comp, lang)


def _unique_passages(passages: list[Passage]) -> list[Passage]:
    seen: set[str] = set()
    out = []
    for p in passages:
        if p.doc_id not in seen:
            seen.add(p.doc_id)
            out.append(p)
    return out


def _trim(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def compose_offline(inp: ComposeInput, product: ProductRef | None) -> Composition:
    """Structured answer when the question is about a fact we hold, else extractive."""
    structured: Composition | None = None
    name = inp.intent.name
    if name == "hours":
        structured = compose_hours(inp)
    elif name in ("price", "availability") and product is not None:
        structured = compose_product(inp, product)
    elif name in ("shipping", "returns", "warranty"):
        structured = compose_policy(inp)
    elif name == "promotion":
        structured = compose_promotion(inp)
    if structured is None and product is not None and name in ("general", "price", "availability"):
        structured = compose_product(inp, product)
    return structured or compose_extractive(inp)
