"""Per-language data: one YAML file per language in `knowledge/text/languages/`, read once.

Code asks for a table by language and section and never branches on a language code; a language
without a file (or without that section) gets the fallback language's table.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["FALLBACK_LANGUAGE", "LANGUAGES", "language_data", "phrase_table"]

# The language whose tables stand in when a language has none (most widely understood).
FALLBACK_LANGUAGE = "en"


def _folder() -> Any:
    return resources.files("knowledge.text") / "languages"


@cache
def _available() -> tuple[str, ...]:
    return tuple(sorted(p.name.removesuffix(".yaml") for p in _folder().iterdir() if p.name.endswith(".yaml")))


# The languages the code can read: one data file each. Customers mix languages, so parsers read
# all of them at once.
LANGUAGES: tuple[str, ...] = _available()


@cache
def language_data(lang: str) -> dict[str, Any]:
    """The data file of one language (an empty mapping for a language without one)."""
    path = _folder() / f"{base_language(lang)}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return data if isinstance(data, dict) else {}


def base_language(lang: str) -> str:
    """'it-IT' → 'it', 'en_GB' → 'en'."""
    return (lang or FALLBACK_LANGUAGE).replace("_", "-").split("-")[0].lower()


def phrase_table(lang: str, section: str) -> dict[str, Any]:
    """One section of a language's data (e.g. the words hours are written with), or the fallback's."""
    table = language_data(lang).get(section)
    if not isinstance(table, dict):
        table = language_data(FALLBACK_LANGUAGE).get(section) or {}
    return table
