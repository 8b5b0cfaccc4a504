"""Facts read out of documents: hours, special hours, prices, availability, promotions, policies.

The builders at the top (`store_doc`, `page_doc`, `faq_doc`, `product_doc`, `manifest_for`) make
small real Documents; the freshness, trust and health tests use them too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from knowledge.documents import Document
from knowledge.facts import (
    Fact,
    extract_facts,
    extract_policy_facts,
    find_stores,
    same_value,
    store_directory,
)
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources import resolve_manifest

ROME = ZoneInfo("Europe/Rome")
BASE = "https://shop.example"
FETCHED = datetime(2026, 11, 25, 6, 0, tzinfo=ROME)


# --- builders ---------------------------------------------------------------------------------
def manifest_for(**overrides: Any) -> Manifest:
    sources = [
        SourceSpec(id="site", type="website", url=f"{BASE}/"),
        SourceSpec(id="faq", type="faq", path="faq.csv"),
        SourceSpec(id="products", type="products", path="products.csv"),
        SourceSpec(id="stores", type="locations", path="stores.jsonld"),
    ]
    return resolve_manifest(Manifest(brand="Bici Test", sources=overrides.pop("sources", sources), **overrides))


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ROME)


def store_doc(
    city: str,
    *,
    hours: list[dict[str, Any]],
    special: list[dict[str, Any]] | None = None,
    updated: str | None = "2026-11-15",
    source_id: str = "stores",
    name: str | None = None,
) -> Document:
    slug = city.lower()
    return Document(
        source_id=source_id,
        source_type="locations",
        kind="store",
        key=f"{BASE}/negozi/{slug}/",
        url=f"{BASE}/negozi/{slug}/",
        title=name or f"Bici Test {city}",
        text=f"Bici Test {city}",
        language="it",
        updated_at=day(updated) if updated else None,
        updated_at_evidence="jsonld:dateModified" if updated else "none",
        fetched_at=FETCHED,
        data={
            "store": {
                "id": f"{BASE}/negozi/{slug}/",
                "name": name or f"Bici Test {city}",
                "city": city,
                "url": f"{BASE}/negozi/{slug}/",
                "opening_hours_specification": hours,
                "special_opening_hours_specification": special or [],
            }
        },
    )


def spec(days: list[str] | str, opens: str, closes: str) -> dict[str, Any]:
    return {"@type": "OpeningHoursSpecification", "dayOfWeek": days, "opens": opens, "closes": closes}


def special_spec(start: str, end: str, opens: str, closes: str) -> dict[str, Any]:
    return {"validFrom": start, "validThrough": end, "opens": opens, "closes": closes}


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def page_doc(
    path: str,
    text: str,
    *,
    title: str = "Pagina",
    updated: str | None = "2026-11-10",
    jsonld: list[dict[str, Any]] | None = None,
    headings: list[str] | None = None,
    source_id: str = "site",
    language: str = "it",
) -> Document:
    return Document(
        source_id=source_id,
        source_type="website",
        kind="page",
        key=f"{BASE}{path}",
        url=f"{BASE}{path}",
        title=title,
        text=text,
        language=language,
        updated_at=day(updated) if updated else None,
        updated_at_evidence="jsonld:dateModified" if updated else "none",
        fetched_at=FETCHED,
        data={"jsonld": jsonld or [], "headings": headings or [], "tables": [], "links": []},
    )


def faq_doc(
    question: str, answer: str, *, updated: str | None = "2026-11-01", language: str = "it"
) -> Document:
    return Document(
        source_id="faq",
        source_type="faq",
        kind="faq",
        key=question.lower().replace(" ", "-")[:40],
        url=f"{BASE}/faq/#{abs(hash(question)) % 1000}",
        title=question,
        text=f"{question}\n\n{answer}",
        language=language,
        updated_at=day(updated) if updated else None,
        updated_at_evidence="feed:updated_at" if updated else "none",
        fetched_at=FETCHED,
        data={"faq": {"question": question, "answer": answer}},
    )


def product_doc(
    product_id: str,
    title: str,
    price: float,
    *,
    availability: str = "in_stock",
    updated: str | None = "2026-11-20",
    link: str | None = None,
    sale_price: float | None = None,
) -> Document:
    product: dict[str, Any] = {
        "id": product_id,
        "title": title,
        "price": price,
        "currency": "EUR",
        "availability": availability,
        "link": link or f"{BASE}/prodotti/{product_id.lower()}/",
    }
    if sale_price is not None:
        product["sale_price"] = sale_price
    return Document(
        source_id="products",
        source_type="products",
        kind="product",
        key=product_id,
        url=product["link"],
        title=title,
        text=f"{title}. Prezzo: {price}",
        language="it",
        updated_at=day(updated) if updated else None,
        updated_at_evidence="feed:updated_at" if updated else "none",
        fetched_at=FETCHED,
        data={"product": product},
    )


def torino_and_milano() -> list[Document]:
    return [
        store_doc("Torino", hours=[spec(WEEKDAYS, "09:30", "19:30"), spec("Sunday", "00:00", "00:00")]),
        store_doc("Milano", hours=[spec(WEEKDAYS, "10:00", "20:00"), spec("Sunday", "14:00", "18:00")]),
    ]


def facts_of(documents: list[Document], manifest: Manifest | None = None) -> list[Fact]:
    return extract_facts(documents, manifest or manifest_for())


def by_subject(facts: list[Fact], doc_id: str | None = None) -> dict[str, Any]:
    return {f.subject: f.value for f in facts if doc_id is None or f.doc_id == doc_id}


# --- stores -----------------------------------------------------------------------------------
def test_store_keys_come_from_the_city_and_aliases_include_the_english_name():
    stores = store_directory(torino_and_milano())
    assert [s.key for s in stores] == ["torino", "milano"]
    assert "turin" in stores[0].aliases and "milan" in stores[1].aliases


def test_two_stores_in_one_city_are_told_apart_by_their_distinctive_name_words():
    docs = [
        store_doc("Milano", hours=[], name="Bici Test Navigli"),
        Document(**{**store_doc("Milano", hours=[], name="Bici Test Isola").__dict__, "key": "isola"}),
    ]
    docs[1].data["store"]["id"] = f"{BASE}/negozi/isola/"
    stores = store_directory(docs)
    assert [s.key for s in stores] == ["navigli", "isola"]
    assert find_stores("il negozio Isola apre alle 10?", stores) == [stores[1]]


def test_a_word_several_store_names_share_names_none_of_them():
    # "Farmacia" is in three of the four names (the fourth is a "Parafarmacia"): a customer who
    # writes "la farmacia di Modena" names the Modena one only.
    names = {"Modena": "Farmacia Gentili Modena Centro", "Carpi": "Farmacia Gentili Carpi",
             "Sassuolo": "Parafarmacia Gentili Sassuolo", "Vignola": "Farmacia Gentili Vignola"}
    docs = []
    for city, name in names.items():
        doc = store_doc(city, hours=[], name=name)
        docs.append(Document(**{**doc.__dict__, "key": city.lower()}))
        docs[-1].data["store"]["id"] = f"{BASE}/negozi/{city.lower()}/"
    stores = store_directory(docs)
    assert [s.city for s in find_stores("che orari fa sabato la farmacia di Modena?", stores)] == ["Modena"]


def test_without_a_locations_source_the_stores_come_from_page_jsonld():
    node = {
        "@type": "BikeStore",
        "@id": f"{BASE}/negozi/roma/",
        "name": "Bici Test Roma",
        "address": {"addressLocality": "Roma"},
        "openingHoursSpecification": [spec("Sunday", "00:00", "00:00")],
    }
    page = page_doc("/negozi/roma/", "Il negozio di Roma", jsonld=[node])
    assert [(s.key, s.city) for s in store_directory([page])] == [("roma", "Roma")]
    assert by_subject(facts_of([page])) == {"store:roma:weekday:6": []}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Quando apre il negozio di TORINO?", ["torino"]),
        ("Is the Turin store open on Sunday?", ["torino"]),
        ("Milano o Torino, quale chiude prima?", ["milano", "torino"]),
        ("Spediamo in tutta Italia", []),
        ("il Torinese", []),  # whole words only
    ],
)
def test_stores_mentioned_in_a_text_are_found_accent_and_case_insensitively(text, expected):
    stores = store_directory(torino_and_milano())
    assert [s.key for s in find_stores(text, stores)] == expected


# --- hours ------------------------------------------------------------------------------------
def test_store_feed_hours_become_one_fact_per_weekday_with_closed_as_an_empty_list():
    facts = facts_of(torino_and_milano())
    values = by_subject(facts)
    assert values["store:torino:weekday:0"] == [["09:30", "19:30"]]
    assert values["store:torino:weekday:6"] == []
    assert values["store:milano:weekday:6"] == [["14:00", "18:00"]]
    sunday = next(f for f in facts if f.subject == "store:torino:weekday:6")
    assert sunday.display == "domenica: chiuso"
    assert sunday.authority == 40 and sunday.store == "torino"
    assert sunday.effective_at == day("2026-11-15")


def test_special_hours_spanning_several_dates_become_one_fact_per_date():
    doc = store_doc(
        "Torino",
        hours=[spec(WEEKDAYS, "09:30", "19:30")],
        special=[
            special_spec("2026-12-25", "2026-12-26", "00:00", "00:00"),
            special_spec("2026-12-24", "2026-12-24", "09:30", "16:00"),
        ],
    )
    facts = [f for f in facts_of([doc]) if f.kind == "special_hours"]
    assert {f.subject: f.value for f in facts} == {
        "store:torino:special:2026-12-24": [["09:30", "16:00"]],
        "store:torino:special:2026-12-25": [],
        "store:torino:special:2026-12-26": [],
    }
    christmas = next(f for f in facts if f.subject.endswith("2026-12-25"))
    assert christmas.valid_from == christmas.valid_through == date(2026, 12, 25)
    assert christmas.display == "25 dicembre 2026: chiuso"


def test_page_jsonld_store_node_is_matched_to_the_store_by_its_id():
    node = {
        "@type": "BikeStore",
        "@id": f"{BASE}/negozi/torino/",
        "name": "Bici Test Torino",
        "openingHoursSpecification": [spec("Sunday", "10:00", "13:00")],
    }
    page = page_doc("/chi-siamo/", "La nostra storia", jsonld=[node])
    facts = facts_of([*torino_and_milano(), page])
    assert by_subject(facts, page.doc_id) == {"store:torino:weekday:6": [["10:00", "13:00"]]}


@pytest.mark.parametrize(
    ("path", "title", "text", "expected"),
    [
        # The URL names the store; the hours section is read.
        (
            "/negozi/torino/",
            "Negozio",
            "# Orari\n\n| lun–sab | 9:30–19:30 |\n| domenica | 10:00–13:00 |",
            {"store:torino:weekday:6": [["10:00", "13:00"]], "store:torino:weekday:0": [["09:30", "19:30"]]},
        ),
        # The title names the store, English prose.
        (
            "/about/",
            "Our Turin store",
            "We are open Mon-Sat 9am-7pm, closed on Sundays.",
            {"store:torino:weekday:5": [["09:00", "19:00"]], "store:torino:weekday:6": []},
        ),
        # Only the text names the store (the warehouse's town): sentences without hours words are ignored.
        (
            "/spedizioni/",
            "Spedizioni",
            "Ogni ordine parte dal magazzino di Torino. Express 24h dal lunedì al venerdì.",
            {},
        ),
        # Two stores named: no attribution.
        ("/negozi/", "I nostri negozi", "Torino: lun-sab 9-19. Milano: lun-sab 10-20.", {}),
    ],
)
def test_prose_and_table_hours_are_attributed_only_to_the_one_store_a_page_is_about(
    path, title, text, expected
):
    page = page_doc(path, text, title=title)
    values = by_subject(facts_of([*torino_and_milano(), page]), page.doc_id)
    assert {k: v for k, v in values.items() if k in expected} == expected
    assert set(values) >= set(expected) and (expected or not values)


def test_a_closing_time_without_opening_time_is_a_partial_hours_fact():
    faq = faq_doc(
        "A che ora chiude il negozio di Milano il sabato?",
        "Il sabato il negozio di Milano chiude alle 19:00.",
    )
    facts = [f for f in facts_of([*torino_and_milano(), faq]) if f.doc_id == faq.doc_id]
    assert [(f.subject, f.value, f.display) for f in facts] == [
        ("store:milano:weekday:5", [[None, "19:00"]], "sabato: chiude alle 19:00")
    ]


def test_dated_hours_in_a_holiday_table_become_special_hours_with_the_year_inferred():
    text = (
        "# Orari\n\n| lun–sab | 9:30–19:30 |\n\n# Aperture festive\n\n"
        "| venerdì 25 e sabato 26 dicembre | chiuso |\n| 24 dicembre | 9:00–13:00 |\n| 6 gennaio | chiuso |"
    )
    page = page_doc("/negozi/torino/", text, updated="2026-11-20")
    values = {
        f.subject: f.value
        for f in facts_of([*torino_and_milano(), page])
        if f.kind == "special_hours" and f.doc_id == page.doc_id
    }
    assert values == {
        "store:torino:special:2026-12-24": [["09:00", "13:00"]],
        "store:torino:special:2026-12-25": [],
        "store:torino:special:2026-12-26": [],
        "store:torino:special:2027-01-06": [],
    }


def test_a_document_stating_a_subject_twice_keeps_the_structured_statement():
    node = {
        "@type": "Store",
        "@id": f"{BASE}/negozi/torino/",
        "openingHoursSpecification": [spec("Sunday", "10:00", "12:00")],
    }
    page = page_doc("/negozi/torino/", "# Orari\n\ndomenica 10:00–13:00", jsonld=[node])
    values = by_subject(facts_of([*torino_and_milano(), page]), page.doc_id)
    assert values == {"store:torino:weekday:6": [["10:00", "12:00"]]}


@pytest.mark.parametrize(
    ("kind", "a", "b", "same"),
    [
        ("hours", [["9:00", "13:00"]], [["09:00", "13:00"]], True),
        ("hours", [["15:00", "19:00"], ["09:00", "12:30"]], [["09:00", "12:30"], ["15:00", "19:00"]], True),
        ("hours", [[None, "19:00"]], [["09:30", "19:00"]], True),
        ("hours", [[None, "19:00"]], [["09:30", "20:00"]], False),
        ("hours", [], [["10:00", "13:00"]], False),
        ("price", 2199.0, 2199.001, True),
        ("price", 2199.0, 2349.0, False),
        ("availability", "in_stock", "in_stock", True),
    ],
)
def test_values_compare_after_normalisation(kind, a, b, same):
    assert same_value(kind, a, b) is same


# --- products ---------------------------------------------------------------------------------
def test_feed_products_give_price_and_availability_and_a_sale_price_is_the_price_paid():
    facts = facts_of(
        [product_doc("P-1", "City Uno", 549.0), product_doc("P-2", "City Due", 649.0, sale_price=599.0)]
    )
    values = by_subject(facts)
    assert values["product:P-1:price"] == 549.0
    assert values["product:P-1:availability"] == "in_stock"
    assert values["product:P-2:price"] == 599.0
    price = next(f for f in facts if f.subject == "product:P-1:price")
    assert (price.unit, price.display, price.product) == ("EUR", "549,00 €", "P-1")


@pytest.mark.parametrize(
    "identity",
    [{"sku": "P-1"}, {"url": f"{BASE}/prodotti/p-1/"}, {"name": "City Uno"}, {"gtin13": "8001234567890"}],
)
def test_a_product_page_jsonld_offer_is_matched_to_the_feed_product(identity):
    feed = product_doc("P-1", "City Uno", 549.0)
    feed.data["product"]["gtin"] = "8001234567890"
    node = {
        "@type": "Product",
        **identity,
        "offers": {
            "@type": "Offer",
            "price": "579.00",
            "priceCurrency": "EUR",
            "availability": "https://schema.org/OutOfStock",
        },
    }
    page = page_doc("/altro/", "City Uno", jsonld=[node])
    values = by_subject(facts_of([feed, page]), page.doc_id)
    assert values == {"product:P-1:price": 579.0, "product:P-1:availability": "out_of_stock"}


# --- promotions -------------------------------------------------------------------------------
def test_a_standalone_jsonld_offer_with_an_end_date_is_a_promotion():
    offer = {
        "@type": "Offer",
        "name": "Black Friday: -20% sulle e-bike",
        "validFrom": "2025-11-24",
        "validThrough": "2025-11-30",
    }
    page = page_doc("/promozioni/bf/", "Sconti", jsonld=[offer], updated="2025-11-03")
    [fact] = facts_of([page])
    assert fact.subject == f"promotion:{page.doc_id}"
    assert fact.value == {
        "title": "Black Friday: -20% sulle e-bike",
        "valid_from": "2025-11-24",
        "valid_through": "2025-11-30",
        "discount": "-20%",
    }
    assert (fact.valid_from, fact.valid_through) == (date(2025, 11, 24), date(2025, 11, 30))


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Promo caschi", "-15% su tutti i caschi fino al 24 dicembre.", (None, date(2026, 12, 24))),
        (
            "Saldi invernali",
            "Dal 7 gennaio al 28 febbraio 2027 sconti fino al 50%.",
            (date(2027, 1, 7), date(2027, 2, 28)),
        ),
        ("Winter sale", "20% off all helmets until December 24, 2026.", (None, date(2026, 12, 24))),
        ("Chi siamo", "Aperti fino al 24 dicembre.", None),  # not a promotion page
        (
            "Promozioni",
            "Caschi fino al 24 dicembre, luci fino al 6 gennaio.",
            None,
        ),  # two end dates: ambiguous
    ],
)
def test_promotion_validity_is_read_from_text_only_on_promotion_pages(title, text, expected):
    page = page_doc("/p/", text, title=title, updated="2026-11-18")
    promos = [f for f in facts_of([page]) if f.kind == "promotion"]
    if expected is None:
        assert promos == []
    else:
        assert [(f.valid_from, f.valid_through) for f in promos] == [expected]


def test_an_offer_inside_a_product_is_a_price_not_a_promotion():
    node = {
        "@type": "Product",
        "sku": "P-1",
        "offers": {"@type": "Offer", "price": "549", "priceValidUntil": "2026-12-31"},
    }
    page = page_doc("/prodotti/p-1/", "City Uno", jsonld=[node])
    assert {
        f.kind for f in facts_of([product_doc("P-1", "City Uno", 549.0), page]) if f.doc_id == page.doc_id
    } == {"price"}


# --- policies ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "La spedizione standard in Italia costa 6,90 € ed è gratuita per ordini da 49 € in su.",
            {"shipping_cost": 6.9, "free_shipping_threshold": 49.0},
        ),
        ("La spedizione Express 24h costa 12,90 €.", {"express_shipping_cost": 12.9}),
        ("La spedizione espressa costa 12,90 €.", {"express_shipping_cost": 12.9}),
        (
            "Standard shipping within Italy costs €6.90 and is free on orders of €49 or more.",
            {"shipping_cost": 6.9, "free_shipping_threshold": 49.0},
        ),
        (
            "Per Sicilia e Sardegna si aggiunge un supplemento di 5 €, anche quando la spedizione standard costa 0 €.",
            {},
        ),
        ("Ordine da 30 € a Palermo, spedizione standard: 6,90 € + 5 € = 11,90 €.", {}),
        ("Spedizione in tutta Italia, gratuita per ordini da 49 €", {"free_shipping_threshold": 49.0}),
        (
            "Hai 30 giorni dalla consegna per restituire un prodotto (la legge prevede 14 giorni: noi li estendiamo a 30).",
            {"return_days": 30.0},
        ),
        ("Se il prodotto è difettoso il reso è gratuito: scrivi entro 14 giorni dalla consegna.", {}),
        (
            "You can return unused items within 30 days of delivery. We refund within 14 days.",
            {"return_days": 30.0, "refund_days": 14.0},
        ),
        ("Rimborsiamo entro 14 giorni dal ricevimento del reso.", {"refund_days": 14.0}),
        ("Tutti i prodotti hanno la garanzia legale di 2 anni.", {"warranty_years": 2.0}),
        ("I telai delle bici sono garantiti 5 anni.", {}),
        ("All products carry the 2-year legal guarantee.", {"warranty_years": 2.0}),
        ("Garanzia di 5 anni sui telai delle bici.", {}),
        ("Spedizione gratuita sopra i 59 €.", {"free_shipping_threshold": 59.0}),
        ("Free shipping on orders over $50.", {"free_shipping_threshold": 50.0}),
        ("Resi gratuiti entro 14 giorni dalla consegna.", {"return_days": 14.0}),
        ("Spedizione standard: 4,90 €", {"shipping_cost": 4.9}),
        ("Ordine da 60 € a Cagliari, spedizione standard: 5 € (solo il supplemento isole).", {}),
    ],
)
def test_policy_numbers_are_read_only_when_tied_to_their_keyword(text, expected):
    facts = extract_policy_facts(page_doc("/p/", text), authority=20)
    assert {f.subject.removeprefix("policy:"): f.value for f in facts} == expected


def test_shipping_table_rows_give_standard_and_express_costs():
    text = (
        "# Costi di spedizione\n\n| Modalità | Costo |\n| Standard | 6,90 € — gratuita per ordini da 49 € in su |\n"
        "| Express 24h | 12,90 € (sempre, anche sopra 49 €) |\n| Ritiro in negozio | gratuito |"
    )
    facts = extract_policy_facts(page_doc("/spedizioni/", text, title="Spedizioni"), authority=20)
    assert {f.subject: f.value for f in facts} == {
        "policy:shipping_cost": 6.9,
        "policy:express_shipping_cost": 12.9,
        "policy:free_shipping_threshold": 49.0,
    }


def test_a_policy_amount_keeps_the_currency_it_was_written_in():
    [fact] = extract_policy_facts(
        page_doc("/shipping/", "Free shipping on orders over $50.", language="en"), 20
    )
    assert (fact.value, fact.unit, fact.display) == (50.0, "USD", "$50.00")


def test_a_document_with_two_different_values_for_a_policy_states_neither():
    text = "Hai 30 giorni per il reso. Per gli articoli in saldo hai 14 giorni per il reso."
    assert extract_policy_facts(page_doc("/resi/", text), authority=20) == []


def test_policy_facts_carry_unit_display_and_snippet():
    [fact] = extract_policy_facts(
        faq_doc("Garanzia?", "Tutti i prodotti hanno la garanzia legale di 2 anni."), authority=10
    )
    assert (fact.kind, fact.unit, fact.display, fact.authority) == ("policy", "years", "2 anni", 10)
    assert "garanzia legale" in fact.snippet


def test_fact_ids_are_stable_and_differ_by_document():
    a = facts_of(torino_and_milano())
    b = facts_of(torino_and_milano())
    assert [f.id for f in a] == [f.id for f in b]
    assert len({f.id for f in a}) == len(a)
