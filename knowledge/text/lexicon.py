"""Per-language data: one YAML file per language in a package's `languages/` folder, read once.

Code asks for a table by language and section and never branches on a language code; a language
without a file (or without that section) gets the fallback language's table. `knowledge` keeps
the words its parsers read (`knowledge/text/languages/`); the agent keeps what it says and the
lexicons it reads (`agent/languages/`) through the same `LanguageFiles`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import yaml

__all__ = ["FALLBACK_LANGUAGE", "LANGUAGES", "LanguageFiles", "base_language", "language_data", "phrase_table"]

# The language whose tables stand in when a language has none (the most widely understood).
FALLBACK_LANGUAGE = "en"


def base_language(lang: str) -> str:
    """'it-IT' → 'it', 'en_GB' → 'en'."""
    return (lang or FALLBACK_LANGUAGE).replace("_", "-").split("-")[0].lower()


class LanguageFiles:
    """The `<lang>.yaml` files of one package folder."""

    def __init__(self, package: str, folder: str = "languages") -> None:
        self.package = package
        self.folder = folder
        self._data = cache(self._read)

    def _dir(self) -> Traversable:
        return resources.files(self.package) / self.folder

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with a file (files whose name is not a language code, like exemplars.yaml, excluded)."""
        names = (p.name.removesuffix(".yaml") for p in self._dir().iterdir() if p.name.endswith(".yaml"))
        return tuple(sorted(n for n in names if len(n) in (2, 3) and n.isalpha()))

    def _read(self, lang: str) -> dict[str, Any]:
        path = self._dir() / f"{lang}.yaml"
        if not path.is_file():
            return {}
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return data if isinstance(data, dict) else {}

    def data(self, lang: str) -> dict[str, Any]:
        """The whole file of one language (an empty mapping for a language without one)."""
        result: dict[str, Any] = self._data(base_language(lang))
        return result

    def has(self, lang: str) -> bool:
        return base_language(lang) in self.languages

    def section(self, lang: str, name: str) -> Any:
        """One section of a language's file, or the fallback language's when it has none."""
        value = self.data(lang).get(name)
        if value is None:
            value = self.data(FALLBACK_LANGUAGE).get(name)
        return value

    def sections(self, name: str) -> dict[str, Any]:
        """The section in every language that has it: lexicons are read in all languages at once."""
        return {lang: self.data(lang)[name] for lang in self.languages if name in self.data(lang)}


KNOWLEDGE_LANGUAGES = LanguageFiles("knowledge.text")

# The languages the code can read: one data file each. Customers mix languages, so parsers read
# all of them at once.
LANGUAGES: tuple[str, ...] = KNOWLEDGE_LANGUAGES.languages


def language_data(lang: str) -> dict[str, Any]:
    """The knowledge data file of one language (an empty mapping for a language without one)."""
    return KNOWLEDGE_LANGUAGES.data(lang)


def phrase_table(lang: str, section: str) -> dict[str, Any]:
    """One section of a language's knowledge data, or the fallback language's."""
    table = KNOWLEDGE_LANGUAGES.section(lang, section)
    return table if isinstance(table, dict) else {}
