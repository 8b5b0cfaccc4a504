"""`sportello doctor`: the knowledge-health report from the command line, as content teams use it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sportello.cli import app
from tests.conftest import DEMO_MANIFEST

DEMO_CLOCK = "2026-11-25T10:00:00+01:00"

CLEAN_STORES = {
    "@context": "https://schema.org",
    "@type": "BikeStore",
    "@id": "https://shop.example/negozi/roma/",
    "name": "Bici Test Roma",
    "address": {"@type": "PostalAddress", "addressLocality": "Roma"},
    "openingHoursSpecification": [
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": ["Monday", "Saturday"],
            "opens": "09:00",
            "closes": "19:00",
        }
    ],
    "dateModified": "2026-11-20",
}


def doctor(data_dir: Path, *args: str):  # noqa: ANN201 - click.testing.Result
    env = {"SPORTELLO_DATA_DIR": str(data_dir), "SPORTELLO_MANIFEST": None, "COLUMNS": "240"}
    return CliRunner().invoke(app, ["doctor", *args], env=env)


def test_doctor_json_lists_the_demo_traps_with_their_winners(demo_data_dir: Path):
    result = doctor(demo_data_dir, str(DEMO_MANIFEST), "--json", "--now", DEMO_CLOCK)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"]["total"] == 6
    winners = {(i["kind"], i["subject"]): (i["winner"] or {}).get("source_id") for i in report["issues"]}
    assert winners[("conflict", "store:torino:weekday:6")] == "stores"
    assert winners[("conflict", "store:milano:weekday:5")] == "stores"
    assert winners[("conflict", "product:VB-EB-TORRE:price")] == "products"
    assert [i["kind"] for i in report["issues"]].count("expired") == 1


def test_doctor_strict_exits_1_when_issues_exist(demo_data_dir: Path):
    result = doctor(demo_data_dir, str(DEMO_MANIFEST), "--strict", "--now", DEMO_CLOCK)
    assert result.exit_code == 1
    assert "update /negozi/torino/" in " ".join(result.stdout.split())


def test_doctor_strict_exits_0_on_clean_knowledge(tmp_path: Path, embedder):
    from knowledge.sources import load_manifest
    from knowledge.sync import sync_manifest

    (tmp_path / "stores.jsonld").write_text(json.dumps(CLEAN_STORES), encoding="utf-8")
    manifest_path = tmp_path / "sources.yaml"
    manifest_path.write_text(
        "brand: Bici Test\nsources:\n  - id: stores\n    type: locations\n    path: stores.jsonld\n",
        encoding="utf-8",
    )
    data_dir = tmp_path / "data"
    sync_manifest(load_manifest(manifest_path), data_dir=data_dir, embedder=embedder)
    result = doctor(data_dir, str(manifest_path), "--strict", "--now", "2026-11-25T10:00:00+01:00")
    assert result.exit_code == 0, result.output
    assert "no stale, expired or conflicting facts" in " ".join(result.stdout.split())


def test_doctor_without_a_synced_index_says_to_sync_first(tmp_path: Path):
    result = doctor(tmp_path / "nothing-here", str(DEMO_MANIFEST), "--now", DEMO_CLOCK)
    assert result.exit_code == 2
    assert "sportello sync" in " ".join(result.output.split())
