"""The store locations source: schema.org JSON-LD stores with their hours and services."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from knowledge.errors import SourceFormatError
from knowledge.manifest import Manifest
from knowledge.sources import LOCATIONS_SOURCE

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

MILANO: dict[str, Any] = {
    "@type": "BikeStore",
    "@id": "https://www.ciclo.example/negozi/milano#store",
    "name": "Ciclofficina Milano",
    "url": "https://www.ciclo.example/negozi/milano",
    "telephone": "+39 02 1234567",
    "email": "mailto:milano@ciclo.example",
    "dateModified": "2025-02-20",
    "address": {
        "@type": "PostalAddress",
        "streetAddress": "Via Roma 1",
        "postalCode": "20121",
        "addressLocality": "Milano",
        "addressRegion": "MI",
        "addressCountry": "IT",
    },
    "geo": {"@type": "GeoCoordinates", "latitude": "45.46", "longitude": 9.19},
    "amenityFeature": [
        {"@type": "LocationFeatureSpecification", "name": "Officina", "value": True},
        {"@type": "LocationFeatureSpecification", "name": "Noleggio", "value": False},
        {"@type": "LocationFeatureSpecification", "name": "Parcheggio bici", "value": "true"},
    ],
    "openingHoursSpecification": [
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
            "opens": "09:00",
            "closes": "19:00",
        },
        {"@type": "OpeningHoursSpecification", "dayOfWeek": "https://schema.org/Saturday", "opens": "10:00",
         "closes": "13:00"},
    ],
    "specialOpeningHoursSpecification": [
        {"@type": "OpeningHoursSpecification", "validFrom": "2025-12-24", "validThrough": "2025-12-24",
         "opens": "09:00", "closes": "13:00"},
        {"@type": "OpeningHoursSpecification", "validFrom": "2025-12-25", "validThrough": "2025-12-26",
         "opens": "00:00", "closes": "00:00"},
    ],
}  # fmt: skip

TORINO: dict[str, Any] = {
    "@type": ["Store", "LocalBusiness"],
    "name": "Ciclofficina Torino",
    "address": {"@type": "PostalAddress", "streetAddress": "Corso Francia 5", "addressLocality": "Torino"},
    "openingHours": "Mo-Sa 09:00-18:00",
}


def load_file(tmp_path: Path, filename: str, content: Any, *, language: str = "it", **source: object):
    text = content if isinstance(content, str) else json.dumps(content, indent=2)
    (tmp_path / filename).write_text(text, encoding="utf-8")
    manifest = Manifest.model_validate(
        {"brand": "Ciclofficina", "language": language, "root": tmp_path,
         "sources": [{"id": "stores", "type": "locations", "path": filename, **source}]}
    )  # fmt: skip
    return LOCATIONS_SOURCE.load(manifest.sources[0], manifest, now=NOW)


def test_stores_in_a_graph_become_store_documents(tmp_path):
    graph = {
        "@context": "https://schema.org",
        "@graph": [{"@type": "Organization", "name": "Ciclofficina"}, MILANO, TORINO],
    }
    milano, torino = load_file(tmp_path, "stores.jsonld", graph)
    assert milano.kind == "store"
    assert milano.source_type == "locations"
    assert milano.key == "https://www.ciclo.example/negozi/milano#store"
    assert milano.url == "https://www.ciclo.example/negozi/milano"
    assert milano.title == "Ciclofficina Milano"
    assert torino.key == "ciclofficina-torino-torino"
    assert torino.url is None


def test_store_data_keeps_address_contacts_and_raw_hours(tmp_path):
    [milano] = load_file(tmp_path, "stores.json", [MILANO])
    store = milano.data["store"]
    assert store["id"] == milano.key
    assert store["city"] == "Milano"
    assert store["address"] == "Via Roma 1, 20121 Milano, MI, IT"
    assert store["telephone"] == "+39 02 1234567"
    assert store["email"] == "milano@ciclo.example"
    assert store["geo"] == {"latitude": 45.46, "longitude": 9.19}
    assert store["opening_hours_specification"] == MILANO["openingHoursSpecification"]
    assert store["special_opening_hours_specification"] == MILANO["specialOpeningHoursSpecification"]
    assert "opening_hours" not in store


def test_only_amenities_with_a_true_value_are_listed(tmp_path):
    [milano] = load_file(tmp_path, "stores.json", MILANO)
    assert milano.data["store"]["amenities"] == ["Officina", "Parcheggio bici"]


def test_date_modified_is_the_update_date_in_the_brand_timezone(tmp_path):
    [milano] = load_file(tmp_path, "stores.json", MILANO)
    assert milano.updated_at == datetime.fromisoformat("2025-02-20T00:00:00+01:00")
    assert milano.updated_at_evidence == "jsonld:dateModified"
    assert milano.fetched_at == NOW


def test_a_raw_opening_hours_string_is_kept(tmp_path):
    [torino] = load_file(tmp_path, "stores.json", TORINO)
    assert torino.data["store"]["opening_hours"] == "Mo-Sa 09:00-18:00"
    assert torino.updated_at is None
    assert torino.updated_at_evidence == "none"


def test_text_renders_address_phone_and_services_in_italian(tmp_path):
    [milano] = load_file(tmp_path, "stores.json", MILANO)
    assert milano.text.startswith("Ciclofficina Milano\n")
    assert "Indirizzo: Via Roma 1, 20121 Milano, MI, IT" in milano.text
    assert "Telefono: +39 02 1234567" in milano.text
    assert "Servizi: Officina, Parcheggio bici" in milano.text


def test_text_renders_in_english_for_english_content(tmp_path):
    [milano] = load_file(tmp_path, "stores.json", MILANO, language="en")
    assert "Address: Via Roma 1, 20121 Milano, MI, IT" in milano.text
    assert "Services: Officina, Parcheggio bici" in milano.text


def test_stores_nested_in_an_organization_are_found(tmp_path):
    organization = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": "Ciclo",
        "department": [TORINO],
    }
    [torino] = load_file(tmp_path, "stores.json", organization)
    assert torino.title == "Ciclofficina Torino"


def test_invalid_json_reports_line_and_column(tmp_path):
    text = json.dumps([MILANO], indent=2).replace('"telephone"', '"telephone" "x"', 1)
    line = text.splitlines().index(next(ln for ln in text.splitlines() if '"telephone" "x"' in ln)) + 1
    with pytest.raises(
        SourceFormatError, match=rf"stores.jsonld: invalid JSON at line {line} column \d+: Expecting"
    ):
        load_file(tmp_path, "stores.jsonld", text)


def test_a_file_without_stores_names_the_types_it_found(tmp_path):
    with pytest.raises(SourceFormatError, match=r"no stores found .*found @type: Organization, WebSite"):
        load_file(tmp_path, "stores.json", [{"@type": "WebSite"}, {"@type": "Organization"}])


def test_a_store_without_a_name_is_named_by_position_and_id(tmp_path):
    nameless = {**TORINO, "@id": "#torino"}
    del nameless["name"]
    with pytest.raises(SourceFormatError, match=r"stores.json store 2 \(#torino\): field 'name' is missing"):
        load_file(tmp_path, "stores.json", [MILANO, nameless])


def test_two_stores_with_one_id_fail(tmp_path):
    with pytest.raises(
        SourceFormatError, match=r"share the id 'https://www.ciclo.example/negozi/milano#store'"
    ):
        load_file(tmp_path, "stores.json", [MILANO, {**MILANO, "name": "Altro"}])


def test_text_contains_the_weekly_hours_in_italian(tmp_path):
    [milano] = load_file(tmp_path, "stores.json", MILANO)
    assert "Orari di apertura: lunedì–venerdì 9:00–19:00; sabato 10:00–13:00" in milano.text


def test_text_contains_upcoming_special_hours_in_italian(tmp_path):
    [milano] = load_file(tmp_path, "stores.json", MILANO)
    assert "Orari speciali:\n- mercoledì 24 dicembre 2025: 9:00–13:00\n" in milano.text
    assert "- giovedì 25 dicembre 2025 – venerdì 26 dicembre 2025: chiuso" in milano.text


def test_text_contains_the_hours_in_english_for_english_content(tmp_path):
    [milano] = load_file(tmp_path, "stores.json", MILANO, language="en")
    assert "Opening hours: Monday–Friday 9:00–19:00; Saturday 10:00–13:00" in milano.text
    assert "- Wednesday, December 24, 2025: 9:00–13:00" in milano.text


def test_special_hours_that_are_over_are_left_out_of_the_text_but_kept_in_data(tmp_path):
    past = {"@type": "OpeningHoursSpecification", "validFrom": "2024-12-25", "validThrough": "2024-12-25",
            "opens": "00:00", "closes": "00:00"}  # fmt: skip
    store = {**MILANO, "specialOpeningHoursSpecification": [past]}
    [milano] = load_file(tmp_path, "stores.json", store)
    assert "2024" not in milano.text
    assert "Orari speciali" not in milano.text
    assert milano.data["store"]["special_opening_hours_specification"] == [past]


def test_an_opening_hours_string_is_rendered_when_no_specification_is_given(tmp_path):
    [torino] = load_file(tmp_path, "stores.json", TORINO)
    assert "Orari di apertura: lunedì–sabato 9:00–18:00; domenica chiuso" in torino.text


def test_unreadable_opening_hours_name_the_store_and_the_field(tmp_path):
    broken = {
        **MILANO,
        "openingHoursSpecification": [{"dayOfWeek": "Funday", "opens": "09:00", "closes": "18:00"}],
    }
    with pytest.raises(
        SourceFormatError,
        match=r"stores.json store 1 'Ciclofficina Milano': field 'openingHoursSpecification' entry 1",
    ):
        load_file(tmp_path, "stores.json", broken)


def test_special_hours_without_dates_are_refused(tmp_path):
    undated = {
        **MILANO,
        "specialOpeningHoursSpecification": [{"dayOfWeek": "Sunday", "opens": "10:00", "closes": "12:00"}],
    }
    with pytest.raises(
        SourceFormatError, match=r"'specialOpeningHoursSpecification' has entries without validFrom"
    ):
        load_file(tmp_path, "stores.json", undated)


def test_an_unreadable_opening_hours_string_names_the_field(tmp_path):
    with pytest.raises(SourceFormatError, match=r"'Ciclofficina Torino': field 'openingHours'"):
        load_file(tmp_path, "stores.json", {**TORINO, "openingHours": "quando ci va"})
