"""The sources manifest: one YAML file where a content team declares its brand's knowledge.

Errors name the file, the line and the field, so a person can fix the manifest without
guessing (see `ManifestError`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import opening_hours
import yaml
from babel import Locale, UnknownLocaleError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from knowledge.errors import ManifestError
from knowledge.yaml_errors import YamlSyntaxError, compose_and_load, dotted, error_message, line_of


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # A registered source type (knowledge.sources.BUILTIN_SOURCE_TYPES: website, faq, products,
    # locations); checked against the registry by `knowledge.sources.load_manifest`.
    type: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    url: str | None = None
    path: Path | None = None
    base_url: str | None = None
    language: str | None = None
    include: list[str] = Field(default_factory=list, description="regexes; a URL must match one")
    exclude: list[str] = Field(default_factory=list, description="regexes; a matching URL is skipped")
    max_pages: int = Field(default=500, ge=1)
    concurrency: int = Field(default=4, ge=1, le=32)
    timeout: float = Field(default=10.0, gt=0)
    max_age_days: dict[str, int] = Field(
        default_factory=dict, description="per fact kind (hours, price, promotion, policy...) or 'default'"
    )
    # How much this source is believed when sources disagree (higher wins); None until the source
    # type's default is applied (`SourceTypes.resolve`).
    authority: int | None = None
    blog: bool = False  # blog posts rank below the FAQ when facts disagree

    @model_validator(mode="after")
    def _one_location(self) -> SourceSpec:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of 'url' or 'path'")
        return self


# The agent evaluates `support.opening_hours` with the `opening_hours` package (opening-hours-py, the
# OSM specification: https://wiki.openstreetmap.org/wiki/Key:opening_hours/specification) and the
# manifest's `country` for public holidays, so a manifest loads only when that package accepts both.
# `knowledge.hours.parse_osm_hours` cannot be the check: it also reads near-misses ("Mo-Fr 9am-6pm")
# through the prose parser, which the agent's reader refuses, and this module may not import
# `knowledge.hours` (`knowledge` sits below it: ARCHITECTURE.md, import rules).
_OSM_ERRORS = (opening_hours.ParserError, SyntaxError, ValueError)  # type: ignore[attr-defined]
_OSM_POSITION = re.compile(r"--> \d+:(\d+)")


def _osm_opening_hours(value: str) -> str:
    value = value.strip()
    try:
        opening_hours.OpeningHours(value)
    except _OSM_ERRORS as exc:
        position = _OSM_POSITION.search(str(exc))
        where = f" (unexpected text at character {position.group(1)})" if position else ""
        raise ValueError(
            f"{value!r} is not an OSM opening_hours expression{where};"
            " write it like 'Mo-Fr 09:00-18:00; Sa 09:00-13:00; PH off'"
        ) from None
    return value


def _language_code(value: str) -> str:
    """A language code Babel (CLDR) knows, lower-cased: 'it', 'en', 'en-gb', 'pt_br'."""
    code = value.strip().lower()
    try:
        Locale.parse(code, sep="-" if "-" in code else "_")
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(
            f"unknown language code {value!r}; use an ISO 639 code such as 'it' or 'en' (optionally with a region: 'en-gb')"
        ) from None
    return code


def _same_language(a: str, b: str) -> bool:
    """'en' and 'en-GB' are one language for the content ('en' is the region's base language)."""
    a, b = (code.strip().lower().replace("_", "-") for code in (a, b))
    return a == b or a.split("-")[0] == b or b.split("-")[0] == a


class SupportHours(BaseModel):
    """When human operators answer, as an OSM opening_hours string (e.g. 'Mo-Fr 09:00-18:00')."""

    model_config = ConfigDict(extra="forbid")
    opening_hours: Annotated[str, AfterValidator(_osm_opening_hours)] = "Mo-Fr 09:00-18:00"


SensitiveFamily = Literal["safety", "injury", "medical", "self_harm", "legal", "complaint", "human"]


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand: str
    language: str = "it"
    # Languages the brand serves (the content's and the replies'), lower-cased codes Babel knows;
    # the first is the default reply language for a message in a language not listed. When given
    # it must include `language`. Empty: only `language` (see `served_languages`).
    languages: list[Annotated[str, AfterValidator(_language_code)]] = Field(default_factory=list)
    timezone: str = "Europe/Rome"
    country: str = "IT"
    support: SupportHours = Field(default_factory=SupportHours)
    max_age_days: dict[str, int] = Field(default_factory=dict)
    # The brand's own words for topics a person must handle, by family (safety, injury, medical,
    # legal, complaint, human): a product recall's name, a regulated service. Added to the agent's
    # per-language lexicons; matched as whole words, case and accents ignored.
    sensitive: dict[SensitiveFamily, list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=2)]]] = (
        Field(default_factory=dict))
    sources: list[SourceSpec] = Field(min_length=1)
    # Folder the manifest was read from: relative paths resolve against it.
    root: Path = Field(default=Path("."), exclude=True)
    # The file it was read from and the line of each field, so a later check can name the line.
    _file: str = PrivateAttr(default="manifest")
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as Europe/Rome") from exc
        return value

    @field_validator("languages")
    @classmethod
    def _languages_include_the_content_language(cls, value: list[str], info: ValidationInfo) -> list[str]:
        codes = list(dict.fromkeys(value))
        language = info.data.get("language")
        if codes and language and not any(_same_language(code, language) for code in codes):
            raise ValueError(
                f"the content language {language!r} (field 'language') is not among the languages served"
                f" ({', '.join(codes)}); add {language.strip().lower()!r} to the list, first if replies should"
                " default to it"
            )
        return codes

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        # The agent reads public holidays ("PH off" in support.opening_hours) for this country.
        code = value.strip().upper()
        try:
            opening_hours.OpeningHours("24/7", country=code)
        except opening_hours.UnknownCountryError:  # type: ignore[attr-defined]
            raise ValueError(f"unknown country {value!r}; use an ISO 3166 code such as IT or GB") from None
        return code

    @model_validator(mode="after")
    def _unique_ids(self) -> Manifest:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"duplicate source id {source.id!r}")
            seen.add(source.id)
        return self

    @property
    def served_languages(self) -> list[str]:
        """The languages the brand serves: `languages`, or just the content `language`."""
        return list(self.languages) or [self.language]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def file(self) -> Path | None:
        """The file this manifest was read from (None for one built in code)."""
        return None if self._file == "manifest" else Path(self._file).resolve()

    def where(self, loc: tuple[Any, ...]) -> str:
        """'sources.yaml line 12, field 'sources[1].type'' for a field of this manifest."""
        line = self._lines.get(dotted(loc))
        return f"{self._file}{f' line {line}' if line else ''}, field '{dotted(loc)}'"

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.root / path).resolve()

    def source(self, source_id: str) -> SourceSpec:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise ManifestError(f"no source with id {source_id!r} in the manifest")


def read_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest's structure; raise ManifestError naming line and field on bad
    input. `knowledge.sources.load_manifest` also checks the source types."""
    path = Path(path)
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ManifestError(f"{path}: manifest not found") from exc
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read manifest ({exc.strerror})") from exc
    try:
        node, raw = compose_and_load(raw_text)
    except YamlSyntaxError as exc:
        raise ManifestError(f"{path}{exc}") from exc
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: expected a mapping with 'brand' and 'sources'")
    try:
        manifest = Manifest.model_validate({**raw, "root": path.parent.resolve()})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        line = line_of(node, loc)
        where = f" line {line}" if line else ""
        raise ManifestError(f"{path}{where}, field '{dotted(loc)}': {error_message(first)}") from exc

    manifest._file = str(path)
    manifest._lines = _lines(node)
    return manifest


def _lines(node: yaml.Node | None, prefix: tuple[Any, ...] = ()) -> dict[str, int]:
    """Dotted field path → line, for every mapping key and sequence item of the YAML tree."""
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            loc = (*prefix, getattr(key, "value", ""))
            out[dotted(loc)] = key.start_mark.line + 1
            out.update(_lines(value, loc))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            loc = (*prefix, index)
            out[dotted(loc)] = item.start_mark.line + 1
            out.update(_lines(item, loc))
    return out
