"""The sources manifest: valid manifests load; invalid ones say file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.errors import ManifestError
from knowledge.sources import load_manifest

VALID = """\
brand: Example Bikes
language: it
timezone: Europe/Rome
sources:
  - id: site
    type: website
    url: https://example.com/sitemap.xml
    exclude: ["/cart/"]
  - id: faq
    type: faq
    path: faq.csv
    base_url: https://example.com
    max_age_days: {policy: 90}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_manifest_loads_with_paths_resolved_against_its_folder(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, VALID))
    assert manifest.brand == "Example Bikes"
    faq = manifest.source("faq")
    assert manifest.resolve(faq.path) == (tmp_path / "faq.csv").resolve()
    assert faq.max_age_days == {"policy": 90}
    assert manifest.source("site").exclude == ["/cart/"]


def test_an_unknown_source_type_names_the_line_field_and_the_valid_types(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("type: faq", "type: ftp"))
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    message = str(error.value)
    assert "line 10" in message
    assert "sources[1].type" in message
    assert "website, faq, products, locations" in message


def test_a_source_with_both_url_and_path_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("    path: faq.csv\n", "    path: faq.csv\n    url: https://x.example/faq.csv\n"))
    with pytest.raises(ManifestError, match="exactly one of 'url' or 'path'"):
        load_manifest(path)


def test_duplicate_source_ids_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("id: faq", "id: site"))
    with pytest.raises(ManifestError, match="duplicate source id 'site'"):
        load_manifest(path)


def test_an_unknown_timezone_is_rejected_with_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("Europe/Rome", "Europe/Atlantis"))
    with pytest.raises(ManifestError, match="line 3.*IANA"):
        load_manifest(path)


def test_a_missing_manifest_file_is_a_manifest_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest not found"):
        load_manifest(tmp_path / "nope.yaml")


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("  - id: faq", "  - id: [faq"))
    with pytest.raises(ManifestError, match="not valid YAML"):
        load_manifest(path)


# --- the manifest validates as a whole: support hours, languages, country ----------------------
WITH_SUPPORT = VALID.replace(
    "timezone: Europe/Rome\n",
    "timezone: Europe/Rome\nlanguages: [it, en]\nsupport:\n  opening_hours: \"Mo-Fr 09:00-18:00; Sa 09:00-13:00; PH off\"\n",
)


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    return str(error.value)


def test_support_hours_languages_and_country_load_when_valid(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, WITH_SUPPORT))
    assert manifest.support.opening_hours == "Mo-Fr 09:00-18:00; Sa 09:00-13:00; PH off"
    assert manifest.served_languages == ["it", "en"]
    assert manifest.country == "IT"


def test_invalid_support_hours_name_the_file_line_field_and_the_character(tmp_path: Path) -> None:
    message = load_error(tmp_path, WITH_SUPPORT.replace("Mo-Fr 09:00-18:00; Sa", "Mo-Fr 09:00-18:00; Sab"))
    assert message.startswith(f"{tmp_path / 'sources.yaml'} line 6, field 'support.opening_hours': ")
    assert "is not an OSM opening_hours expression (unexpected text at character 22)" in message
    assert "write it like 'Mo-Fr 09:00-18:00; Sa 09:00-13:00; PH off'" in message


def test_support_hours_the_agent_cannot_read_are_refused_even_if_prose_would_parse(tmp_path: Path) -> None:
    # knowledge.hours.parse_osm_hours reads "9am-6pm" through its prose fallback; the agent's
    # opening_hours reader does not, so the manifest must not load.
    message = load_error(tmp_path, WITH_SUPPORT.replace("Mo-Fr 09:00-18:00; Sa 09:00-13:00; PH off", "Mo-Fr 9am-6pm"))
    assert "line 6, field 'support.opening_hours': 'Mo-Fr 9am-6pm' is not an OSM opening_hours expression" in message


def test_an_empty_support_schedule_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, WITH_SUPPORT.replace('"Mo-Fr 09:00-18:00; Sa 09:00-13:00; PH off"', '""'))
    assert "line 6, field 'support.opening_hours': '' is not an OSM opening_hours expression" in message


def test_an_unknown_language_code_names_its_line_and_list_position(tmp_path: Path) -> None:
    message = load_error(tmp_path, WITH_SUPPORT.replace("languages: [it, en]", "languages:\n  - it\n  - english"))
    assert message.startswith(f"{tmp_path / 'sources.yaml'} line 6, field 'languages[1]': ")
    assert "unknown language code 'english'" in message


def test_language_codes_are_lower_cased_and_kept_once(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, WITH_SUPPORT.replace("[it, en]", "[IT, en-GB, it]")))
    assert manifest.languages == ["it", "en-gb"]
    assert manifest.served_languages == ["it", "en-gb"]


def test_languages_without_the_content_language_are_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, WITH_SUPPORT.replace("[it, en]", "[en, de]"))
    assert message.startswith(f"{tmp_path / 'sources.yaml'} line 4, field 'languages': ")
    assert "the content language 'it' (field 'language') is not among the languages served (en, de)" in message
    assert "add 'it' to the list" in message


def test_a_regional_code_of_the_content_language_includes_it(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, WITH_SUPPORT.replace("[it, en]", "[it-CH, en]")))
    assert manifest.served_languages == ["it-ch", "en"]


def test_served_languages_default_to_the_content_language(tmp_path: Path) -> None:
    manifest = load_manifest(write(tmp_path, VALID))
    assert manifest.languages == []
    assert manifest.served_languages == ["it"]


def test_an_unknown_country_names_its_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, WITH_SUPPORT.replace("sources:\n", "country: XX\nsources:\n"))
    assert message.startswith(f"{tmp_path / 'sources.yaml'} line 7, field 'country': ")
    assert "unknown country 'XX'; use an ISO 3166 code" in message
