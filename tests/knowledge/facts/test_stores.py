"""Stores described only in prose: a page or FAQ entry with an address (or weekly hours) whose
title names the place joins the store directory, once, next to the feed's stores."""

from __future__ import annotations

from knowledge.facts import find_stores, store_directory
from tests.knowledge.facts.test_facts import (
    by_subject,
    facts_of,
    faq_doc,
    page_doc,
    spec,
    store_doc,
    torino_and_milano,
)

OUTLET = (
    "# Outlet di Modena\n\nFine serie ed ex esposizione a prezzi scontati.\n\n"
    "## Dove siamo\n\nVia Emilia 12, 41100 Modena\n\n"
    "## Orari\n\nlun–sab 9:30–19:30, domenica chiuso"
)


def outlet_page(updated: str = "2026-11-10"):
    return page_doc("/outlet/", OUTLET, title="Outlet di Modena | Bici Test", updated=updated)


def test_a_store_described_only_on_a_site_page_joins_the_directory_with_its_address_and_hours():
    page = outlet_page()
    stores = store_directory([*torino_and_milano(), page])
    assert [s.key for s in stores] == ["torino", "milano", "modena"]
    outlet = stores[2]
    assert (outlet.name, outlet.city, outlet.address) == ("Outlet di Modena", "Modena", "Via Emilia 12, 41100 Modena")
    assert outlet.pages == (page.doc_id,)
    values = by_subject(facts_of([*torino_and_milano(), page]), page.doc_id)
    assert values["store:modena:weekday:0"] == [["09:30", "19:30"]]
    assert values["store:modena:weekday:6"] == []


def test_a_store_described_only_in_an_faq_answer_joins_the_directory():
    faq = faq_doc(
        "Dove si trova l'outlet di Modena?",
        "In Via Emilia 12, 41100 Modena: è aperto dal lunedì al sabato 9:30–19:30.",
    )
    [*_, outlet] = store_directory([*torino_and_milano(), faq])
    assert (outlet.key, outlet.name, outlet.city) == ("modena", "outlet di Modena", "Modena")
    assert by_subject(facts_of([*torino_and_milano(), faq]), faq.doc_id)["store:modena:weekday:5"] == [
        ["09:30", "19:30"]
    ]


def test_a_page_giving_only_hours_under_a_title_naming_the_place_is_a_store():
    page = page_doc(
        "/outlet/",
        "# Orari\n\nL'outlet di Modena è aperto dal lunedì al sabato 9:30–19:30.",
        title="Outlet di Modena",
    )
    [*_, outlet] = store_directory([*torino_and_milano(), page])
    assert (outlet.name, outlet.city, outlet.address) == ("Outlet di Modena", None, None)
    assert by_subject(facts_of([*torino_and_milano(), page]), page.doc_id)["store:" + outlet.key + ":weekday:0"] == [
        ["09:30", "19:30"]
    ]


def test_a_page_describing_a_feed_store_is_that_store_not_a_second_one():
    page = page_doc(
        "/chi-siamo/il-negozio/",
        "# Bici Test Torino\n\nVia Po 45, 10124 Torino\n\n## Orari\n\n| lun–sab | 9:30–19:30 |\n| domenica | 10:00–13:00 |",
        title="Bici Test Torino",
    )
    stores = store_directory([*torino_and_milano(), page])
    assert [s.key for s in stores] == ["torino", "milano"]
    assert stores[0].pages == (page.doc_id,) and stores[0].address == "Via Po 45, 10124 Torino"
    # Its hours are the feed store's: the page's Sunday contradicts the feed.
    assert by_subject(facts_of([*torino_and_milano(), page]), page.doc_id)["store:torino:weekday:6"] == [
        ["10:00", "13:00"]
    ]


def test_a_page_in_a_feed_stores_town_with_the_feeds_address_is_that_store():
    feed = torino_and_milano()
    feed[0].data["store"]["address"] = "Via Po 45, 10124 Torino, TO, IT"
    page = page_doc("/dove-siamo/", "Ci trovi in via Po, 45 - 10124 Torino.", title="Dove siamo a Torino")
    assert [(s.key, s.pages) for s in store_directory([*feed, page])] == [
        ("torino", (page.doc_id,)),
        ("milano", ()),
    ]


def test_a_second_store_in_a_feed_stores_town_gets_its_own_key_and_the_feeds_keys_stay():
    feed = torino_and_milano()
    feed[0].data["store"]["address"] = "Via Po 45, 10124 Torino, TO, IT"
    page = page_doc("/outlet/", "# Outlet Torino\n\nVia Nizza 3, 10125 Torino", title="Outlet Torino")
    stores = store_directory([*feed, page])
    assert [s.key for s in stores] == ["torino", "milano", "outlet"]
    assert stores[0].pages == ()


def test_two_descriptions_of_one_place_are_one_store():
    faq = faq_doc("Dove si trova l'outlet di Modena?", "In Via Emilia 12, 41100 Modena.")
    stores = store_directory([*torino_and_milano(), outlet_page(), faq])
    assert [s.key for s in stores] == ["torino", "milano", "modena"]
    assert set(stores[2].pages) == {outlet_page().doc_id, faq.doc_id}


def test_a_store_kind_only_one_store_has_names_it_but_a_plain_store_word_does_not():
    stores = store_directory([*torino_and_milano(), outlet_page()])
    assert [s.key for s in find_stores("a che ora apre l'outlet?", stores)] == ["modena"]
    shop = page_doc("/parma/", "# Negozio di Parma\n\nVia Farini 3, 43121 Parma", title="Negozio di Parma")
    stores = store_directory([*torino_and_milano(), shop])
    assert stores[-1].key == "parma"
    assert find_stores("il negozio apre alle 10?", stores) == []


def test_a_store_kind_written_in_several_words_is_an_alias_as_a_whole():
    page = page_doc(
        "/collection-point/",
        "# Collect your box\n\n21 Redhill Street, Ancoats\n\nManchester M4 5BA",
        title="Manchester collection point",
        language="en",
    )
    [*_, point] = store_directory([*torino_and_milano(), page])
    assert (point.key, point.city) == ("manchester", "Manchester")
    assert find_stores("is the collection point open on Saturday?", [point]) == [point]
    assert find_stores("at this point, can I pay?", [point]) == []


def test_a_registered_office_in_a_footer_does_not_make_a_page_a_store():
    page = page_doc(
        "/spedizioni/",
        "# Spedizioni da Milano\n\nSpediamo in tutta Italia in 2–4 giorni lavorativi.\n\n"
        "Bici Test S.r.l. · Sede legale: Via Roma 1, Milano · P.IVA 01234567890",
        title="Spedizioni da Milano",
    )
    assert [s.key for s in store_directory([store_doc("Torino", hours=[spec("Sunday", "00:00", "00:00")]), page])] == [
        "torino"
    ]


def test_an_address_repeated_on_most_pages_is_the_companys_not_a_store():
    footer = "\n\nBici Test · Via Roma 1, 20121 Milano · info@shop.example"
    pages = [
        page_doc("/ritiro/", "# Ritiro a Milano\n\nRitira il tuo ordine." + footer, title="Ritiro a Milano"),
        page_doc("/resi/", "# Resi\n\n30 giorni." + footer, title="Resi"),
        page_doc("/garanzia/", "# Garanzia\n\n2 anni." + footer, title="Garanzia"),
        page_doc("/contatti/", "# Contatti\n\nScrivici." + footer, title="Contatti"),
    ]
    assert store_directory(pages) == []


def test_pages_that_only_mention_a_town_or_list_several_addresses_are_not_stores():
    mentions = page_doc("/spedizioni/", "Ogni ordine parte dal magazzino di Modena.", title="Spedizioni da Modena")
    listing = page_doc(
        "/negozi/",
        "| Modena | Via Emilia 12, 41100 Modena |\n| Parma | Via Farini 3, 43121 Parma |",
        title="I negozi di Modena e Parma",
    )
    assert store_directory([mentions, listing]) == []
