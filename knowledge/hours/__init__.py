"""Opening hours: one model for every way a brand publishes them (prose, OSM/schema.org strings,
schema.org objects), "is it open at …", and how to write hours for a customer."""

from knowledge.hours.model import (
    MIDNIGHT,
    OpenStatus,
    Rule,
    SpecialHours,
    TimeRange,
    WeeklyHours,
    hours_on,
    parse_clock,
    sorted_ranges,
    status_at,
)
from knowledge.hours.osm import parse_osm_hours
from knowledge.hours.prose import parse_hours_text
from knowledge.hours.render import render_ranges, render_weekly
from knowledge.hours.schemaorg import parse_opening_hours_specification

__all__ = [
    "MIDNIGHT",
    "OpenStatus",
    "Rule",
    "SpecialHours",
    "TimeRange",
    "WeeklyHours",
    "hours_on",
    "parse_clock",
    "parse_hours_text",
    "parse_opening_hours_specification",
    "parse_osm_hours",
    "render_ranges",
    "render_weekly",
    "sorted_ranges",
    "status_at",
]
