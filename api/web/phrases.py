"""The web chat's words, one YAML file per language in api/web/languages/ (English fills gaps).
A new language is a new file: code never branches on a language code."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

LANGUAGES = Path(__file__).parent / "languages"
FALLBACK = "en"


@cache
def _file(lang: str) -> dict[str, str]:
    path = LANGUAGES / f"{lang}.yaml"
    if not path.is_file():
        return {}
    return {str(k): str(v) for k, v in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items()}


def available() -> list[str]:
    return sorted(p.stem for p in LANGUAGES.glob("*.yaml"))


def chat_language(asked: str | None, default: str | None) -> str:
    """The first of (asked, the brand's default) that has a phrase file; else English."""
    for lang in (asked, default):
        code = (lang or "").split("-")[0].lower()
        if code and code in available():
            return code
    return FALLBACK


def chat_phrases(lang: str) -> dict[str, str]:
    return {**_file(FALLBACK), **_file(lang)}
