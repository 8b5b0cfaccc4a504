"""The sources manifest: one YAML file where a content team declares its brand's knowledge.

Errors name the file, the line and the field, so a person can fix the manifest without
guessing (see `ManifestError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from knowledge.documents import SOURCE_TYPES
from knowledge.errors import ManifestError
from knowledge.yaml_errors import YamlSyntaxError, compose_and_load, dotted, error_message, line_of

# How much a source is believed when two sources disagree, by type (higher wins).
# A structured store feed beats a store page, which beats the FAQ, which beats a blog post.
DEFAULT_AUTHORITY = {"locations": 40, "products": 40, "website": 20, "faq": 10}


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: Literal["website", "faq", "products", "locations"]
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
    authority: int | None = None
    blog: bool = False  # blog posts rank below the FAQ when facts disagree

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: Any) -> Any:
        if value not in SOURCE_TYPES:
            raise ValueError(f"unknown source type {value!r}; expected one of {', '.join(SOURCE_TYPES)}")
        return value

    @model_validator(mode="after")
    def _one_location(self) -> SourceSpec:
        if (self.url is None) == (self.path is None):
            raise ValueError("give exactly one of 'url' or 'path'")
        return self

    @property
    def effective_authority(self) -> int:
        if self.authority is not None:
            return self.authority
        return 5 if self.blog else DEFAULT_AUTHORITY[self.type]


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

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else (self.root / path).resolve()

    def source(self, source_id: str) -> SourceSpec:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise ManifestError(f"no source with id {source_id!r} in the manifest")


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest; raise ManifestError naming line and field on bad input."""
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
        return Manifest.model_validate({**raw, "root": path.parent.resolve()})
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        line = line_of(node, loc)
        where = f" line {line}" if line else ""
        raise ManifestError(f"{path}{where}, field '{dotted(loc)}': {error_message(first)}") from exc

