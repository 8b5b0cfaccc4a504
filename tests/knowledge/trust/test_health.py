"""The knowledge-health report: grouping, stable JSON, text, and the demo brand's planted traps."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from knowledge.errors import IndexUnavailable
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources import FAQ_SOURCE, resolve_manifest
from knowledge.sync import health_report
from knowledge.trust import build_health_report
from tests.conftest import DEMO_NOW
from tests.knowledge.facts.test_facts import (
    BASE,
    WEEKDAYS,
    faq_doc,
    manifest_for,
    page_doc,
    spec,
    store_doc,
    torino_and_milano,
)

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ROME)
SITE = "https://www.velobici.example"


def report_of(documents, now: datetime = NOW):
    return build_health_report(documents, manifest_for(), now=now)


def old_torino_page(sunday: str = "10:00–13:00", saturday: str = "9:30–19:30"):
    text = f"# Orari\n\n| lun–ven | 9:30–19:30 |\n| sabato | {saturday} |\n| domenica | {sunday} |"
    return page_doc("/negozi/torino/", text, updated="2023-03-01")


def test_a_clean_knowledge_base_has_no_issues():
    report = report_of([*torino_and_milano(), old_torino_page(sunday="chiuso")])
    assert report.issues == []
    assert report.counts["total"] == 0
    assert "no stale, expired or conflicting facts" in report.render_text()


def test_an_old_page_contradicting_the_feed_gives_one_conflict_and_one_stale_issue():
    report = report_of([*torino_and_milano(), old_torino_page()])
    assert [(i.kind, i.subject) for i in report.issues] == [
        ("conflict", "store:torino:weekday:6"),
        ("stale", "store:torino:weekday:6"),
    ]
    conflict, stale = report.issues
    assert conflict.winner["source_id"] == "stores" and conflict.winner["value"] == "domenica: chiuso"
    assert {s["source_id"] for s in conflict.sources} == {"stores", "site"}
    assert stale.sources[0]["updated_at"] == "2023-03-01"
    assert stale.suggested_fix == (
        "update /negozi/torino/: opening hours dated 2023-03-01, the store feed (2026-11-15) says domenica: chiuso"
    )


def test_weekday_conflicts_between_the_same_two_documents_are_one_issue():
    report = report_of([*torino_and_milano(), old_torino_page(saturday="9:00–13:00")])
    [conflict] = [i for i in report.issues if i.kind == "conflict"]
    assert conflict.subjects == ["store:torino:weekday:5", "store:torino:weekday:6"]
    assert "(sabato, domenica)" in conflict.title
    [stale] = [i for i in report.issues if i.kind == "stale"]
    assert stale.subjects == ["store:torino:weekday:5", "store:torino:weekday:6"]


def test_old_facts_are_grouped_per_document_in_one_stale_issue():
    page = page_doc("/negozi/torino/", "# Orari\n\nlun-sab 9:30-19:30, domenica chiuso", updated="2024-01-10")
    report = report_of([store_doc("Torino", hours=[]), page])
    [issue] = report.issues
    assert issue.kind == "stale" and len(issue.sources) == 7 and issue.winner is None
    assert issue.suggested_fix.startswith("review /negozi/torino/")


def test_an_expired_promotion_is_reported_with_its_end_date_and_no_winner():
    offer = {
        "@type": "Offer",
        "name": "Black Friday",
        "validFrom": "2025-11-24",
        "validThrough": "2025-11-30",
    }
    page = page_doc("/promozioni/bf/", "Sconti", jsonld=[offer], updated="2025-11-03")
    [issue] = report_of([page]).issues
    assert (issue.kind, issue.winner) == ("expired", None)
    assert "2025-11-30" in issue.detail and "2025-11-30" in issue.suggested_fix


def test_past_special_hours_on_a_page_are_reported_but_past_feed_entries_are_not():
    page = page_doc("/negozi/torino/", "# Aperture festive\n\n25 dicembre 2025: chiuso")
    feed = store_doc(
        "Torino",
        hours=[spec(WEEKDAYS, "09:30", "19:30")],
        special=[
            {"validFrom": "2025-12-25", "validThrough": "2025-12-25", "opens": "00:00", "closes": "00:00"}
        ],
    )
    [issue] = report_of([feed, page]).issues
    assert issue.kind == "expired" and issue.subject == "store:torino:special:2025-12-25"
    assert issue.sources[0]["source_id"] == "site"


def test_issue_json_does_not_change_from_one_day_to_the_next():
    docs = [*torino_and_milano(), old_torino_page()]
    today = report_of(docs).to_dict()
    tomorrow = report_of(docs, now=NOW + timedelta(days=1)).to_dict()
    assert today["issues"] == tomorrow["issues"]
    assert today["generated_at"] != tomorrow["generated_at"]


def test_the_text_report_lists_sources_winner_and_fix():
    faq = faq_doc(
        "A che ora chiude il negozio di Milano il sabato?",
        "Il sabato il negozio chiude alle 19:00.",
        updated="2026-06-10",
    )
    milano = store_doc("Milano", hours=[spec("Saturday", "09:30", "20:00")])
    text = report_of([milano, faq]).render_text()
    assert "1 issues (1 conflict)" in text
    assert "<- winner" in text and "sabato: chiude alle 19:00" in text
    assert "fix: update the FAQ entry \u201cA che ora chiude il negozio di Milano il sabato?\u201d" in text


def test_the_doctor_asks_for_a_sync_when_nothing_was_synced(tmp_path: Path):
    with pytest.raises(IndexUnavailable, match="sportello sync"):
        health_report(manifest_for(), tmp_path / "empty", now=NOW)
    assert not (tmp_path / "empty").exists()


# --- stores found only in prose ------------------------------------------------------------------
def test_a_store_known_only_from_an_old_page_is_reported_stale():
    page = page_doc(
        "/outlet/",
        "# Outlet di Modena\n\nVia Emilia 12, 41100 Modena\n\n## Orari\n\nlun–sab 9:30–19:30, domenica chiuso",
        title="Outlet di Modena",
        updated="2023-05-02",
    )
    report = report_of([*torino_and_milano(), page])
    [issue] = report.issues
    assert (issue.kind, issue.title) == ("stale", "Stale opening hours on /outlet/")
    assert issue.subjects == [f"store:modena:weekday:{day}" for day in range(7)]
    assert issue.suggested_fix.startswith("review /outlet/: opening hours dated 2023-05-02")


def test_a_page_describing_a_feed_store_with_other_hours_is_a_conflict_for_that_store():
    page = page_doc(
        "/chi-siamo/il-negozio/",
        "# Bici Test Torino\n\nVia Po 45, 10124 Torino\n\n## Orari\n\n| lun–sab | 9:30–19:30 |\n| domenica | 10:00–13:00 |",
        title="Bici Test Torino",
    )
    report = report_of([*torino_and_milano(), page])
    [issue] = report.issues
    assert (issue.kind, issue.subject, issue.winner["source_id"]) == ("conflict", "store:torino:weekday:6", "stores")
    assert issue.title == "Conflicting opening hours for Bici Test Torino (domenica)"


# --- duplicate FAQ questions ----------------------------------------------------------------------
def faq_export(tmp_path: Path, content: str):
    """The documents of a real FAQ file read by the FAQ source, and a manifest that lists it."""
    (tmp_path / "faq.csv").write_text(content, encoding="utf-8")
    manifest = resolve_manifest(
        Manifest(
            brand="Bici Test",
            sources=[
                SourceSpec(id="faq", type="faq", path="faq.csv", base_url=BASE),
                SourceSpec(id="stores", type="locations", path="stores.jsonld"),
            ],
            root=tmp_path,
        )
    )
    return FAQ_SOURCE.load(manifest.sources[0], manifest, now=NOW), manifest


TWO_SUNDAYS = (
    "question,answer,updated_at,url\n"
    "Siete aperti la domenica?,\"No, la domenica siamo chiusi.\",2026-11-01,/aiuto/#negozi\n"
    "Resi?,Entro 30 giorni.,2026-11-01,/aiuto/#resi\n"
    "siete aperti la domenica?,\"Sì, dalle 10 alle 13.\",2026-10-01,/aiuto/#orari\n"
)


def test_a_question_asked_twice_with_two_answers_is_one_duplicate_issue_naming_both_entries(tmp_path: Path):
    docs, manifest = faq_export(tmp_path, TWO_SUNDAYS)
    report = build_health_report(docs, manifest, now=NOW)
    [issue] = report.issues
    assert (issue.kind, issue.winner) == ("duplicate", None)
    assert report.counts["duplicate"] == 1 and report.counts["total"] == 1
    assert [(s["source_id"], s["line"], s["url"]) for s in issue.sources] == [
        ("faq", "faq.csv line 2", f"{BASE}/aiuto/#negozi"),
        ("faq", "faq.csv line 4", f"{BASE}/aiuto/#orari"),
    ]
    assert issue.subjects == [d.doc_id for d in docs if d.title.lower().startswith("siete")]
    assert issue.detail.startswith("the same question twice in the FAQ 'faq', with different answers:")
    assert issue.suggested_fix.startswith("merge the two answers into one entry")


def test_the_duplicate_issue_is_in_the_json_and_the_text_report(tmp_path: Path):
    docs, manifest = faq_export(tmp_path, TWO_SUNDAYS)
    report = build_health_report(docs, manifest, now=NOW)
    data = report.to_dict()
    assert data["counts"]["duplicate"] == 1
    assert data["issues"][0]["kind"] == "duplicate"
    assert data["issues"][0]["sources"][1]["line"] == "faq.csv line 4"
    text = report.render_text()
    assert "1 issues (1 duplicate)" in text
    assert "DUPLICATE Duplicate FAQ question \u201cSiete aperti la domenica?\u201d" in text
    assert f"- faq faq.csv line 4 (2026-10-01) {BASE}/aiuto/#orari: S\u00ec, dalle 10 alle 13." in text


def test_an_exact_copy_of_an_faq_entry_is_not_a_duplicate_issue(tmp_path: Path):
    docs, manifest = faq_export(tmp_path, TWO_SUNDAYS.replace("\"Sì, dalle 10 alle 13.\"", "\"No, la domenica siamo chiusi.\""))
    report = build_health_report(docs, manifest, now=NOW)
    assert report.counts["duplicate"] == 0 and report.issues == []


def test_an_issue_about_one_of_two_entries_of_a_question_names_its_line(tmp_path: Path):
    content = (
        "question,answer,updated_at,url\n"
        "Il negozio di Torino è aperto la domenica?,\"No, la domenica è chiuso.\",2026-11-01,/aiuto/#a\n"
        "il negozio di Torino è aperto la domenica?,\"Sì, la domenica dalle 10 alle 13.\",2026-11-01,/aiuto/#b\n"
    )
    docs, manifest = faq_export(tmp_path, content)
    feed = store_doc("Torino", hours=[spec(WEEKDAYS, "09:30", "19:30"), spec("Sunday", "00:00", "00:00")])
    report = build_health_report([feed, *docs], manifest, now=NOW)
    [conflict] = [i for i in report.issues if i.kind == "conflict"]
    assert "update the FAQ entry \u201cil negozio di Torino è aperto la domenica?\u201d (faq.csv line 3)" in (
        conflict.suggested_fix
    )
    assert [i.kind for i in report.issues] == ["conflict", "duplicate"]


# --- the demo brand's planted traps (examples/demo-brand/TRAPS.md) ------------------------------
EXPECTED_DEMO_ISSUES = {
    # (kind, subject): (winner source, winner value, sources other than the winner)
    ("conflict", "store:torino:weekday:6"): ("stores", "domenica: chiuso", {f"{SITE}/negozi/torino/"}),
    ("conflict", "store:milano:weekday:5"): (
        "stores",
        "sabato: 9:30–20:00",
        {f"{SITE}/faq/#orari-milano", f"{SITE}/negozi/milano/"},
    ),
    ("conflict", "product:VB-EB-TORRE:price"): (
        "products",
        "2.199,00 €",
        {f"{SITE}/prodotti/e-bike-torre-500/"},
    ),
    ("stale", "store:torino:weekday:6"): ("stores", "domenica: chiuso", {f"{SITE}/negozi/torino/"}),
    ("stale", "product:VB-EB-TORRE:price"): (
        "products",
        "2.199,00 €",
        {f"{SITE}/prodotti/e-bike-torre-500/"},
    ),
    ("expired", f"promotion:site:{SITE}/promozioni/black-friday-2025/"): (
        None,
        None,
        {f"{SITE}/promozioni/black-friday-2025/"},
    ),
}


@pytest.fixture(scope="module")
def demo_report(demo_manifest, demo_data_dir):
    return health_report(demo_manifest, demo_data_dir, now=DEMO_NOW)


def test_the_demo_doctor_flags_exactly_the_planted_issues(demo_report):
    assert {(i.kind, i.subject) for i in demo_report.issues} == set(EXPECTED_DEMO_ISSUES)
    counts = {k: demo_report.counts[k] for k in ("conflict", "stale", "expired", "total")}
    assert counts == {"conflict": 3, "stale": 2, "expired": 1, "total": 6}


@pytest.mark.parametrize("key", sorted(EXPECTED_DEMO_ISSUES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_each_planted_demo_issue_has_the_right_winner_and_sources(demo_report, key):
    issue = next(i for i in demo_report.issues if (i.kind, i.subject) == key)
    winner_source, winner_value, others = EXPECTED_DEMO_ISSUES[key]
    if winner_source is None:
        assert issue.winner is None
    else:
        assert (issue.winner["source_id"], issue.winner["value"]) == (winner_source, winner_value)
    losing = {s["url"] for s in issue.sources if issue.winner is None or s["source_id"] != winner_source}
    assert losing == others
    assert issue.suggested_fix


def test_the_demo_torino_page_is_reported_stale_for_its_hours_only(demo_report):
    issue = next(i for i in demo_report.issues if i.kind == "stale" and i.subject.startswith("store:torino"))
    assert issue.subjects == ["store:torino:weekday:6"]
    assert issue.title == "Stale opening hours on /negozi/torino/"
    assert "2023-03-01" in issue.suggested_fix and "domenica: chiuso" in issue.suggested_fix
