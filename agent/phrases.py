"""Customer-facing wording in Italian and English: one table, so every reply reads the same way.

Messaging-friendly: short sentences, no markdown, dates written out ("3 novembre 2026").
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from babel.dates import format_date
from babel.numbers import format_currency

PHRASES: dict[str, dict[str, str | dict[str, str]]] = {
    "it": {
        "as_of": "(aggiornato al {date})",
        "hours_as_of": "Orari aggiornati al {date}.",
        "price_as_of": "Prezzo aggiornato al {date}.",
        "updated_as_of": "Informazione aggiornata al {date}.",
        "source": "Fonte",
        "sources": "Fonti",
        "open_range": "{store} {day} è aperto {ranges}.",
        "closed_day": "{store} {day} è chiuso.",
        "open_now_until": "{store} adesso è aperto, fino alle {time}.",
        "closed_now_next": "{store} adesso è chiuso: riapre {next}.",
        "closed_now": "{store} adesso è chiuso.",
        "special_note": "(orario speciale per quel giorno)",
        "weekly": "Orari di {store}: {hours}.",
        "unknown_day": "Non ho l'orario di {store} per {day}.",
        "which_store": "Abbiamo più negozi: {stores}. Di quale ti interessa?",
        "price": "{product} costa {price}.",
        "price_sale": "{product} costa {price} (in offerta a {sale}).",
        "availability": {"in_stock": "è disponibile", "out_of_stock": "al momento non è disponibile",
                         "preorder": "è ordinabile in preordine", "backorder": "è ordinabile, con consegna posticipata"},
        "availability_line": "{product} {availability}.",
        "shipping_free": "Con un ordine di {amount} la spedizione standard è gratuita (è gratuita a partire da {threshold}).",
        "shipping_paid": "Con un ordine di {amount} la spedizione standard costa {cost}: è gratuita a partire da {threshold}.",
        "shipping_rule": "La spedizione standard costa {cost} ed è gratuita per ordini a partire da {threshold}.",
        "shipping_cost": "La spedizione standard costa {cost}.",
        "returns": "Hai {days} giorni per il reso.",
        "returns_in_time": "Sì: hai {days} giorni per il reso e ne sono passati {elapsed}.",
        "returns_too_late": "Il reso è possibile entro {days} giorni: dopo {elapsed} giorni il termine è scaduto.",
        "refund": "Il rimborso arriva entro {days} giorni.",
        "warranty": "La garanzia è di {years} anni.",
        "promo_active": "Promozione in corso: {title}, valida fino al {until}.",
        "promo_expired": "La promozione «{title}» è terminata il {until}: non è più valida.",
        "no_promo": "Al momento non risultano promozioni attive nelle nostre fonti.",
        "stale_warning": "Attenzione: l'informazione di «{title}» risale al {date} e potrebbe non essere aggiornata.",
        "conflict_warning": "Nota: «{loser}» (aggiornato al {loser_date}) riporta un dato diverso, non più "
                            "valido; ti indico quello di «{winner}», aggiornato al {winner_date}.",
        "expired_warning": "«{title}» era valida fino al {date}: è scaduta.",
        "no_answer": "Mi dispiace, non ho questa informazione nelle nostre fonti e non voglio darti una risposta "
                     "sbagliata.",
        "handoff_offer": "Ti metto in contatto con una persona del nostro team.",
        "handoff": {
            "human_requested": "Certo, ti passo a una persona del nostro team.",
            "medical": "Per domande sulla salute non posso darti indicazioni: ti passo a una persona del nostro "
                       "team. Se hai sintomi, rivolgiti a un medico.",
            "injury": "Mi dispiace per quello che è successo. Se sei ferito, rivolgiti subito a un medico o chiama "
                      "il 112. Ti passo a una persona del nostro team.",
            "legal": "Per questioni legali ti passo a una persona del nostro team, che potrà seguirti.",
            "safety": "Per sicurezza smetti di usare il prodotto e tienilo lontano da fonti di calore e persone. "
                      "Se c'è fumo o fuoco chiama il 112. Ti passo subito a una persona del nostro team.",
            "complaint": "Mi dispiace davvero per il disagio. Ti passo a una persona del nostro team che può "
                         "occuparsene.",
            "no_answer": "Mi dispiace, non ho questa informazione nelle nostre fonti e non voglio darti una "
                         "risposta sbagliata. Ti passo a una persona del nostro team.",
            "repeated_failure": "Mi dispiace, non riesco a risponderti. Ti passo a una persona del nostro team.",
            "stale_information": "Le informazioni che ho potrebbero non essere aggiornate: ti passo a una persona "
                                 "del nostro team per conferma.",
            "requested_externally": "Ti passo a una persona del nostro team.",
        },
        "other_language": "Le nostre informazioni sono disponibili in italiano:",
        "more": "Più dettagli:",
    },
    "en": {
        "as_of": "(updated {date})",
        "hours_as_of": "Hours as of {date}.",
        "price_as_of": "Price as of {date}.",
        "updated_as_of": "Information as of {date}.",
        "source": "Source",
        "sources": "Sources",
        "open_range": "{store} is open {day} {ranges}.",
        "closed_day": "{store} is closed {day}.",
        "open_now_until": "{store} is open now, until {time}.",
        "closed_now_next": "{store} is closed now: it opens again {next}.",
        "closed_now": "{store} is closed now.",
        "special_note": "(special hours for that day)",
        "weekly": "{store} opening hours: {hours}.",
        "unknown_day": "I don't have {store}'s hours for {day}.",
        "which_store": "We have several stores: {stores}. Which one do you mean?",
        "price": "{product} costs {price}.",
        "price_sale": "{product} costs {price} (on sale at {sale}).",
        "availability": {"in_stock": "is in stock", "out_of_stock": "is out of stock at the moment",
                         "preorder": "can be pre-ordered", "backorder": "can be ordered, with delayed delivery"},
        "availability_line": "{product} {availability}.",
        "shipping_free": "With an order of {amount}, standard shipping is free (it is free from {threshold}).",
        "shipping_paid": "With an order of {amount}, standard shipping costs {cost}: it is free from {threshold}.",
        "shipping_rule": "Standard shipping costs {cost} and is free for orders from {threshold}.",
        "shipping_cost": "Standard shipping costs {cost}.",
        "returns": "You have {days} days to return an item.",
        "returns_in_time": "Yes: you have {days} days to return an item and {elapsed} have passed.",
        "returns_too_late": "Returns are possible within {days} days: after {elapsed} days the window has closed.",
        "refund": "The refund arrives within {days} days.",
        "warranty": "The warranty is {years} years.",
        "promo_active": "Current promotion: {title}, valid until {until}.",
        "promo_expired": "The promotion “{title}” ended on {until}: it is no longer valid.",
        "no_promo": "Our sources show no active promotion at the moment.",
        "stale_warning": "Please note: the information in “{title}” dates from {date} and may be out of date.",
        "conflict_warning": "Note: “{loser}” (updated {loser_date}) gives a different value that is no longer "
                            "valid; I'm giving you the one from “{winner}”, updated {winner_date}.",
        "expired_warning": "“{title}” was valid until {date}: it has expired.",
        "no_answer": "Sorry, I don't have that information in our sources and I don't want to give you a wrong "
                     "answer.",
        "handoff_offer": "I'll put you in touch with a person from our team.",
        "handoff": {
            "human_requested": "Of course, I'm passing you to a person from our team.",
            "medical": "I can't give advice on health questions: I'm passing you to a person from our team. If you "
                       "have symptoms, please see a doctor.",
            "injury": "I'm sorry this happened. If you are hurt, please see a doctor or call emergency services "
                      "(112 in Europe). I'm passing you to a person from our team.",
            "legal": "For legal matters I'm passing you to a person from our team who can follow up.",
            "safety": "For your safety, stop using the product and keep it away from heat and people. If there is "
                      "smoke or fire, call emergency services (112 in Europe). I'm passing you to a person from "
                      "our team right away.",
            "complaint": "I'm really sorry for the trouble. I'm passing you to a person from our team who can "
                         "sort it out.",
            "no_answer": "Sorry, I don't have that information in our sources and I don't want to give you a "
                         "wrong answer. I'm passing you to a person from our team.",
            "repeated_failure": "Sorry, I can't answer this. I'm passing you to a person from our team.",
            "stale_information": "The information I have may be out of date: I'm passing you to a person from "
                                 "our team to confirm.",
            "requested_externally": "I'm passing you to a person from our team.",
        },
        "other_language": "Our information is available in Italian:",
        "more": "More details:",
    },
}


def phrase(lang: str, key: str, **values: object) -> str:
    template = PHRASES.get(lang, PHRASES["en"])[key]
    assert isinstance(template, str)
    return template.format(**values)


def table(lang: str, key: str) -> dict[str, str]:
    value = PHRASES.get(lang, PHRASES["en"])[key]
    assert isinstance(value, dict)
    return value


def long_date(value: date | datetime | None, lang: str, tz: tzinfo | None = None) -> str:
    """'3 novembre 2026' / '3 November 2026'; a moment is dated in the brand's time zone `tz`
    (a page dated 2023-03-01 in Rome is 2023-02-28 in UTC)."""
    if value is None:
        return "?" if lang == "it" else "unknown date"
    if isinstance(value, datetime) and tz is not None and value.tzinfo is not None:
        value = value.astimezone(tz)
    day = value.date() if isinstance(value, datetime) else value
    return format_date(day, "d MMMM y", locale="it" if lang == "it" else "en")


def day_label(day: date, today: date, lang: str) -> str:
    """'oggi', 'domani', 'domenica 29 novembre' / 'today', 'tomorrow', 'on Sunday 29 November'."""
    delta = (day - today).days
    if delta == 0:
        return "oggi" if lang == "it" else "today"
    if delta == 1:
        return "domani" if lang == "it" else "tomorrow"
    if lang == "it":
        return format_date(day, "EEEE d MMMM", locale="it")
    return "on " + format_date(day, "EEEE d MMMM", locale="en")


def money(amount: float, currency: str, lang: str) -> str:

    return format_currency(amount, currency or "EUR", locale="it_IT" if lang == "it" else "en_IE")
