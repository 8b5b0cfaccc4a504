"""Freshness verdicts and conflicts, judged at a frozen `now` in the brand's timezone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from knowledge.manifest import SourceSpec
from knowledge.trust import KnowledgeState, assess_knowledge, max_age_for
from tests.knowledge.facts.test_facts import (
    BASE,
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


def state_of(documents, manifest=None, now: datetime = NOW) -> KnowledgeState:
    return assess_knowledge(documents, manifest or manifest_for(), now=now)


def verdict_of(state: KnowledgeState, subject: str, doc_id: str):
    fact = next(f for f in state.facts if f.subject == subject and f.doc_id == doc_id)
    return state.verdict(fact)


def old_torino_page(updated: str | None = "2023-03-01", sunday: str = "10:00–13:00"):
    return page_doc(
        "/negozi/torino/", f"# Orari\n\n| lun–sab | 9:30–19:30 |\n| domenica | {sunday} |", updated=updated
    )


# --- max ages -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source_ages", "manifest_ages", "kind", "expected"),
    [
        ({}, {}, "hours", 180),
        ({}, {}, "price", 30),
        ({}, {}, "unknown-kind", 365),
        ({}, {"hours": 90}, "hours", 90),
        ({"hours": 60}, {"hours": 90}, "hours", 60),
        ({"default": 45}, {"hours": 90}, "hours", 90),  # a kind named anywhere beats a default
        ({"default": 45}, {}, "price", 45),
        ({}, {"default": 20}, "hours", 20),
    ],
)
def test_max_age_is_the_most_specific_setting(source_ages, manifest_ages, kind, expected):
    manifest = manifest_for(
        sources=[SourceSpec(id="site", type="website", url=f"{BASE}/", max_age_days=source_ages)],
        max_age_days=manifest_ages,
    )
    assert max_age_for(kind, "site", manifest) == expected


# --- stale --------------------------------------------------------------------------------------
def test_hours_older_than_six_months_are_stale_with_the_reason():
    page = page_doc("/negozi/torino/", "# Orari\n\ndomenica 10:00–13:00", updated="2023-03-01")
    state = state_of([store_doc("Torino", hours=[]), page])
    verdict = verdict_of(state, "store:torino:weekday:6", page.doc_id)
    assert verdict.status == "stale"
    assert (verdict.age_days, verdict.max_age_days) == (1365, 180)
    assert "2023-03-01" in verdict.reason and "180" in verdict.reason


@pytest.mark.parametrize(("updated", "status"), [("2026-10-26", "fresh"), ("2026-10-25", "stale")])
def test_prices_are_fresh_for_thirty_days(updated, status):
    doc = product_doc("P-1", "City Uno", 549.0, updated=updated)
    state = state_of([doc])
    assert verdict_of(state, "product:P-1:price", doc.doc_id).status == status


def test_undated_hours_on_a_page_are_stale_because_a_date_matters_for_hours():
    page = page_doc("/negozi/torino/", "# Orari\n\ndomenica 10:00–13:00", updated=None)
    verdict = verdict_of(
        state_of([store_doc("Torino", hours=[]), page]), "store:torino:weekday:6", page.doc_id
    )
    assert verdict.status == "stale" and verdict.reason.startswith("undated")


def test_an_undated_policy_is_fresh_because_policies_change_rarely():
    page = page_doc("/resi/", "Hai 30 giorni per il reso.", updated=None)
    assert verdict_of(state_of([page]), "policy:return_days", page.doc_id).status == "fresh"


def test_an_undated_feed_row_is_as_old_as_the_sync_that_read_it():
    doc = product_doc("P-1", "City Uno", 549.0, updated=None)
    fresh = verdict_of(state_of([doc]), "product:P-1:price", doc.doc_id)
    later = verdict_of(state_of([doc], now=NOW + timedelta(days=40)), "product:P-1:price", doc.doc_id)
    assert (fresh.status, later.status) == ("fresh", "stale")
    assert "feed read on" in later.reason


def test_an_old_fact_confirmed_by_a_fresh_source_of_equal_or_higher_authority_is_not_stale():
    page = old_torino_page(sunday="chiuso")
    state = state_of([*torino_and_milano(), page])
    verdict = verdict_of(state, "store:torino:weekday:6", page.doc_id)
    assert verdict.status == "fresh" and verdict.outdated
    assert "says the same" in verdict.reason


def test_confirmation_from_a_less_authoritative_source_does_not_make_an_old_fact_fresh():
    page = old_torino_page(sunday="chiuso")
    faq = faq_doc("Il negozio di Torino apre la domenica?", "No, la domenica il negozio di Torino è chiuso.")
    state = state_of([store_doc("Milano", hours=[]), store_doc("Torino", hours=[]), page, faq])
    assert verdict_of(state, "store:torino:weekday:6", page.doc_id).status == "stale"
    assert verdict_of(state, "store:torino:weekday:6", faq.doc_id).status == "fresh"


# --- expired ------------------------------------------------------------------------------------
def promo_page(through: str):
    offer = {"@type": "Offer", "name": "Black Friday", "validFrom": "2026-11-01", "validThrough": through}
    return page_doc("/promozioni/bf/", "Sconti", jsonld=[offer], updated="2026-11-01")


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (datetime(2026, 11, 30, 23, 59, tzinfo=ROME), "fresh"),
        (datetime(2026, 12, 1, 0, 1, tzinfo=ROME), "expired"),
        # 23:30 UTC on the 30th is already the 1st in Rome: the brand's calendar decides.
        (datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("UTC")), "expired"),
    ],
)
def test_a_promotion_expires_after_its_last_day_in_the_brand_timezone(now, status):
    page = promo_page("2026-11-30")
    state = state_of([page], now=now)
    assert verdict_of(state, f"promotion:{page.doc_id}", page.doc_id).status == status


def test_expired_special_hours_take_no_part_in_conflicts():
    feed = store_doc("Torino", hours=[], special=[special_spec("2025-12-24", "2025-12-24", "09:30", "16:00")])
    page = page_doc("/negozi/torino/", "# Aperture festive\n\n24 dicembre 2025: 9:00–13:00")
    state = state_of([feed, page])
    assert state.conflicts == []
    assert state.winner("store:torino:special:2025-12-24") is None
    assert {state.verdict(f).status for f in state.facts_for("store:torino:special:")} == {"expired"}


# --- conflicts ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("page_authority", "page_date", "feed_date", "winner", "why"),
    [
        (
            None,
            "2026-11-20",
            "2026-11-01",
            "stores",
            "store feed 'stores' (authority 40) beats website 'site' (20)",
        ),
        (
            None,
            "2023-03-01",
            "2026-11-15",
            "stores",
            "store feed 'stores' (authority 40) beats website 'site' (20)",
        ),
        (40, "2026-11-20", "2026-11-01", "site", "newer (2026-11-20) beats older (2026-11-01)"),
        (40, "2026-11-01", "2026-11-20", "stores", "newer (2026-11-20) beats older (2026-11-01)"),
        (
            50,
            "2023-03-01",
            "2026-11-15",
            "site",
            "website 'site' (authority 50) beats store feed 'stores' (40)",
        ),
    ],
)
def test_the_winner_has_the_higher_authority_then_the_newer_date(
    page_authority, page_date, feed_date, winner, why
):
    manifest = manifest_for(
        sources=[
            SourceSpec(id="site", type="website", url=f"{BASE}/", authority=page_authority),
            SourceSpec(id="stores", type="locations", path="stores.jsonld"),
        ]
    )
    feed = store_doc("Torino", hours=[spec("Sunday", "00:00", "00:00")], updated=feed_date)
    page = old_torino_page(updated=page_date)
    state = state_of([feed, page], manifest)
    conflict = state.conflict("store:torino:weekday:6")
    assert conflict is not None
    assert conflict.winner.source_id == winner
    assert state.winner("store:torino:weekday:6").source_id == winner
    assert conflict.why.startswith(why)
    assert [f.source_id for f in conflict.sides][0] == winner


def test_every_disagreeing_side_is_superseded_and_agreeing_sides_are_not():
    feed = store_doc("Milano", hours=[spec("Saturday", "09:30", "20:00")])
    page = page_doc("/negozi/milano/", "# Orari\n\nsabato 9:30–20:00")
    faq = faq_doc(
        "A che ora chiude il negozio di Milano il sabato?",
        "Il sabato chiude alle 19:00.",
        updated="2026-06-10",
    )
    state = state_of([feed, page, faq])
    subject = "store:milano:weekday:5"
    assert verdict_of(state, subject, faq.doc_id).status == "superseded"
    assert verdict_of(state, subject, page.doc_id).status == "fresh"
    assert verdict_of(state, subject, feed.doc_id).status == "fresh"
    conflict = state.conflict(subject)
    assert [f.doc_id for f in conflict.losers] == [faq.doc_id]
    assert "authority 40" in verdict_of(state, subject, faq.doc_id).reason


@pytest.mark.parametrize(("closes", "conflicts"), [("19:00", 0), ("20:00", 1)])
def test_a_closing_time_conflicts_only_when_it_differs_from_the_full_hours(closes, conflicts):
    feed = store_doc("Milano", hours=[spec("Saturday", "09:30", closes)])
    faq = faq_doc("A che ora chiude il negozio di Milano il sabato?", "Chiude alle 19.")
    state = state_of([feed, faq])
    assert [f.value for f in state.facts_for("store:milano:weekday:5") if f.doc_id == faq.doc_id] == [
        [[None, "19:00"]]
    ]
    assert len(state.conflicts) == conflicts


def test_prices_that_differ_only_below_the_cent_do_not_conflict():
    feed = product_doc("P-1", "City Uno", 549.0)
    node = {"@type": "Product", "sku": "P-1", "offers": {"@type": "Offer", "price": "549.001"}}
    page = page_doc("/prodotti/p-1/", "City Uno", jsonld=[node])
    assert state_of([feed, page]).conflicts == []


def test_facts_for_lists_a_subject_prefix_most_trusted_first():
    feed = store_doc("Torino", hours=[spec("Sunday", "00:00", "00:00")])
    state = state_of([feed, old_torino_page()])
    sunday = [f for f in state.facts_for("store:torino:") if f.subject.endswith(":6")]
    assert [f.source_id for f in sunday] == ["stores", "site"]
    assert state.subjects() == sorted(state.subjects())


def test_assess_knowledge_refuses_a_naive_now():
    with pytest.raises(ValueError, match="timezone-aware"):
        assess_knowledge([], manifest_for(), now=datetime(2026, 11, 25, 10, 0))


def test_weekday_hours_of_the_feed_stay_fresh_while_the_page_is_old():
    state = state_of([*torino_and_milano(), old_torino_page()])
    page_id = f"site:{BASE}/negozi/torino/"
    statuses = {f.subject: state.verdict(f).status for f in state.facts if f.doc_id == page_id}
    assert statuses["store:torino:weekday:6"] == "superseded"
    # Monday to Saturday agree with the feed: corroborated, so not stale.
    assert {statuses[f"store:torino:weekday:{d}"] for d in range(6)} == {"fresh"}
