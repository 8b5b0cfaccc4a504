"""The sources manifest: one YAML file where a content team declares its brand's knowledge.

Errors name the file, the line and the field, so a person can fix the manifest without
guessing (see `ManifestError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
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


class SupportHours(BaseModel):
    """When human operators answer, as an OSM opening_hours string (e.g. 'Mo-Fr 09:00-18:00')."""

    model_config = ConfigDict(extra="forbid")
    opening_hours: str = "Mo-Fr 09:00-18:00"


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand: str
    language: str = "it"
    # Languages the brand serves (the content's and the replies'); the first is the default reply
    # language for a message in a language not listed. Empty: only `language`.
    languages: list[str] = Field(default_factory=list)
    timezone: str = "Europe/Rome"
    country: str = "IT"
    support: SupportHours = Field(default_factory=SupportHours)
    max_age_days: dict[str, int] = Field(default_factory=dict)
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

    @model_validator(mode="after")
    def _unique_ids(self) -> Manifest:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"duplicate source id {source.id!r}")
            seen.add(source.id)
        return self

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
