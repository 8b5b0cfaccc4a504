"""The agent's contract: `assess_evidence` (facts to trust, warnings, enough) and the time-aware
store answers of `knowledge.opening` built on the winning facts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from knowledge.documents import Document
from knowledge.index import Passage
from knowledge.trust import KnowledgeState, assess_evidence, assess_knowledge, store_status, store_week
from tests.knowledge.facts.test_facts import (
    WEEKDAYS,
    faq_doc,
    manifest_for,
    page_doc,
    product_doc,
    spec,
    special_spec,
    store_doc,
    torino_and_milano,
)

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ROME)


def state_of(documents: list[Document], now: datetime = NOW) -> KnowledgeState:
    return assess_knowledge(documents, manifest_for(), now=now)


def passage(document: Document, text: str | None = None) -> Passage:
    return Passage(
        chunk_id=f"{document.doc_id}#0",
        doc_id=document.doc_id,
        text=text or document.text,
        score=1.0,
        source_id=document.source_id,
        source_type=document.source_type,
        kind=document.kind,
        url=document.url,
        title=document.title,
        heading="",
        updated_at=document.updated_at,
        updated_at_evidence=document.updated_at_evidence,
        language=document.language,
    )


def old_torino_page() -> Document:
    return page_doc(
        "/negozi/torino/",
        "# Orari\n\n| lun–sab | 9:30–19:30 |\n| domenica | 10:00–13:00 |",
        updated="2023-03-01",
    )


# --- assess_evidence ----------------------------------------------------------------------------
def test_a_superseded_value_is_replaced_by_the_winner_and_the_conflict_names_both_sides():
    page = old_torino_page()
    state = state_of([*torino_and_milano(), page])
    trust = assess_evidence([passage(page)], state)
    sunday = [f for f in trust.facts if f.subject == "store:torino:weekday:6"]
    assert [(f.source_id, f.value) for f in sunday] == [("stores", [])]
    [warning] = [w for w in trust.warnings if w.kind == "conflict"]
    assert warning.subject == "store:torino:weekday:6"
    assert [f.source_id for f in warning.facts] == ["stores", "site"]  # winner first
    assert "domenica: chiuso" in warning.detail and "10:00–13:00" in warning.detail
    assert page.doc_id in trust.stale_doc_ids
    assert trust.enough


def test_a_passage_from_the_winning_document_alone_raises_no_conflict_warning():
    page = old_torino_page()
    feed, milano = torino_and_milano()
    trust = assess_evidence([passage(feed)], state_of([feed, milano, page]))
    assert trust.warnings == [] and trust.stale_doc_ids == set() and trust.enough
    asked = assess_evidence(
        [passage(feed)], state_of([feed, milano, page]), subjects=["store:torino:weekday:6"]
    )
    assert [w.kind for w in asked.warnings] == ["conflict"]


def test_subjects_bring_in_facts_from_documents_that_were_not_retrieved():
    feed = store_doc("Milano", hours=[spec("Saturday", "09:30", "20:00")])
    faq = faq_doc(
        "A che ora chiude il negozio di Milano il sabato?",
        "Il sabato chiude alle 19:00.",
        updated="2026-06-10",
    )
    state = state_of([feed, faq])
    trust = assess_evidence([], state, subjects=["store:milano:weekday:5"])
    assert [f.doc_id for f in trust.facts] == [feed.doc_id]
    assert [w.kind for w in trust.warnings] == ["conflict"]
    assert trust.stale_doc_ids == {faq.doc_id}


def test_an_expired_promotion_is_dropped_with_an_expired_warning_and_is_not_enough():
    offer = {
        "@type": "Offer",
        "name": "Black Friday",
        "validFrom": "2025-11-24",
        "validThrough": "2025-11-30",
    }
    page = page_doc("/promozioni/bf/", "-20% su tutte le e-bike", jsonld=[offer], updated="2025-11-03")
    trust = assess_evidence([passage(page)], state_of([page]))
    assert trust.facts == []
    [warning] = trust.warnings
    assert warning.kind == "expired" and warning.facts[0].valid_through.isoformat() == "2025-11-30"
    assert trust.stale_doc_ids == {page.doc_id}
    assert not trust.enough


def test_stale_evidence_is_kept_only_when_nothing_else_exists_and_is_not_enough():
    page = old_torino_page()
    state = state_of([store_doc("Torino", hours=[]), page])
    trust = assess_evidence([passage(page)], state, subjects=["store:torino:weekday:6"])
    assert [(f.source_id, f.value) for f in trust.facts if f.subject.endswith(":6")] == [
        ("site", [["10:00", "13:00"]])
    ]
    stale = [w for w in trust.warnings if w.kind == "stale"]
    assert stale and all(w.facts[0].doc_id == page.doc_id for w in stale)
    assert "2023-03-01" in stale[0].detail
    assert not trust.enough


def test_fresh_agreeing_facts_are_trusted_with_their_winner():
    feed = product_doc("P-1", "City Uno", 549.0)
    node = {"@type": "Product", "sku": "P-1", "offers": {"@type": "Offer", "price": "549.00"}}
    page = page_doc("/prodotti/p-1/", "City Uno 549,00 €", jsonld=[node])
    trust = assess_evidence([passage(page)], state_of([feed, page]))
    assert [f.source_id for f in trust.facts] == ["products", "site"]
    assert trust.warnings == [] and trust.stale_doc_ids == set() and trust.enough


@pytest.mark.parametrize(("passages", "enough"), [(1, True), (0, False)])
def test_passages_without_facts_leave_the_judgement_to_the_agent(passages, enough):
    page = page_doc("/montaggio/", "La bici arriva montata al 90%.")
    trust = assess_evidence([passage(page)] * passages, state_of([page]))
    assert (trust.facts, trust.warnings, trust.enough) == ([], [], enough)


# --- store week and status ----------------------------------------------------------------------
def christmas_store() -> Document:
    return store_doc(
        "Torino",
        hours=[spec(WEEKDAYS, "09:30", "19:30"), spec("Sunday", "00:00", "00:00")],
        special=[
            special_spec("2026-12-24", "2026-12-24", "09:30", "16:00"),
            special_spec("2026-12-25", "2026-12-26", "00:00", "00:00"),
        ],
    )


@pytest.mark.parametrize(
    ("at", "is_open", "closes_at", "next_opens_at", "rule"),
    [
        ("2026-11-25T10:00", True, "2026-11-25T19:30", "2026-11-26T09:30", "regular"),
        ("2026-11-29T11:00", False, None, "2026-11-30T09:30", "regular"),  # Sunday: closed
        ("2026-12-24T15:00", True, "2026-12-24T16:00", "2026-12-28T09:30", "special"),
        ("2026-12-24T17:00", False, None, "2026-12-28T09:30", "special"),
        ("2026-12-25T11:00", False, None, "2026-12-28T09:30", "special"),  # Christmas beats Friday hours
    ],
)
def test_store_status_applies_special_hours_before_regular_hours(at, is_open, closes_at, next_opens_at, rule):
    state = state_of([christmas_store()])
    status = store_status(state, "torino", datetime.fromisoformat(at).replace(tzinfo=ROME))
    assert status.status.is_open is is_open
    assert (status.status.closes_at.isoformat()[:16] if status.status.closes_at else None) == closes_at
    assert status.status.next_opens_at.isoformat()[:16] == next_opens_at
    assert status.rule == rule
    assert status.facts and all(f.source_id == "stores" for f in status.facts)


def test_store_status_on_the_day_clocks_go_back_keeps_local_wall_times():
    state = state_of([christmas_store()], now=datetime(2026, 10, 20, 9, 0, tzinfo=ROME))
    status = store_status(
        state, "torino", datetime(2026, 10, 26, 10, 0, tzinfo=ROME)
    )  # Monday after DST ends
    assert status.status.is_open and status.status.closes_at.isoformat() == "2026-10-26T19:30:00+01:00"


def test_store_week_uses_winning_facts_only():
    state = state_of([*torino_and_milano(), old_torino_page()])
    weekly, specials, facts = store_week(state, "torino")
    assert weekly.days[6] == ()
    assert specials == []
    assert {f.source_id for f in facts} == {"stores"}


def test_a_winning_closing_time_alone_uses_the_agreeing_full_hours():
    # The FAQ is the most trusted here (authority raised) but says only when the store closes.
    manifest = manifest_for()
    manifest.sources[1].authority = 60
    page = page_doc("/negozi/milano/", "# Orari\n\nsabato 9:30–19:00")
    faq = faq_doc("A che ora chiude il negozio di Milano il sabato?", "Il sabato chiude alle 19:00.")
    state = assess_knowledge([store_doc("Milano", hours=[]), page, faq], manifest, now=NOW)
    assert state.winner("store:milano:weekday:5").source_id == "faq"
    weekly, _, facts = store_week(state, "milano")
    assert weekly.days[5][0].opens.isoformat() == "09:30:00"
    assert [f.source_id for f in facts] == ["site"]


def test_past_special_hours_are_not_part_of_the_week():
    state = state_of([christmas_store()], now=datetime(2026, 12, 25, 12, 0, tzinfo=ROME))
    _, specials, _ = store_week(state, "torino")
    assert [s.valid_from.isoformat() for s in specials] == ["2026-12-25", "2026-12-26"]


def test_store_status_for_an_unknown_store_names_the_known_ones():
    with pytest.raises(KeyError, match="torino"):
        store_status(state_of([christmas_store()]), "roma", NOW)
