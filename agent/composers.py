"""Composers: what turns a turn's evidence into the reply text, chosen by name from a registry.

`offline` is deterministic, extractive and cited, and needs nothing. `llm` phrases free-text
answers with any OpenAI-compatible endpoint and falls back to `offline` on any failure. A new
composer is one class with `compose` and one entry in `COMPOSERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from agent.answers.composition import Composition
from agent.answers.llm import LLMComposer
from agent.answers.offline import ComposeInput, compose_offline
from agent.catalog_match import ProductRef
from agent.errors import ComposerError
from sportello.settings import Settings

__all__ = ["COMPOSERS", "Composer", "OfflineComposer", "composer_from_settings"]


class Composer(Protocol):
    name: str

    def compose(self, inp: ComposeInput, product: ProductRef | None) -> Composition: ...


class OfflineComposer:
    name = "offline"

    def compose(self, inp: ComposeInput, product: ProductRef | None) -> Composition:
        return compose_offline(inp, product)


class LLMWithFallback:
    """The LLM phrases what the offline composer found; the offline answer stands when it fails."""

    name = "llm"

    def __init__(self, llm: LLMComposer, fallback: Composer | None = None) -> None:
        self.llm = llm
        self.fallback = fallback or OfflineComposer()

    def compose(self, inp: ComposeInput, product: ProductRef | None) -> Composition:
        return self.llm.compose(inp, self.fallback.compose(inp, product))


ComposerFactory = Callable[[Settings, str], Composer]

COMPOSERS: Mapping[str, ComposerFactory] = {
    "offline": lambda settings, brand: OfflineComposer(),
    "llm": lambda settings, brand: LLMWithFallback(LLMComposer.from_settings(settings, brand=brand)),
}


def composer_from_settings(
    settings: Settings, brand: str, registry: Mapping[str, ComposerFactory] = COMPOSERS
) -> Composer:
    """`SPORTELLO_COMPOSER` when set; else `llm` when an LLM is configured; else `offline`."""
    name = settings.composer or ("llm" if settings.llm_enabled else "offline")
    factory = registry.get(name)
    if factory is None:
        raise ComposerError(f"SPORTELLO_COMPOSER={name!r} is not a known composer; use one of {', '.join(registry)}")
    return factory(settings, brand)
