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
