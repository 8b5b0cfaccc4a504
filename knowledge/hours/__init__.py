from knowledge.hours.model import (
    WEEKDAY_NAMES,
    OpenStatus,
    SpecialHours,
    TimeRange,
    WeeklyHours,
    hours_on,
    parse_hours_text,
    parse_opening_hours_specification,
    parse_osm_hours,
    render_ranges,
    render_weekly,
    status_at,
)

__all__ = [
    'OpenStatus',
    'SpecialHours',
    'TimeRange',
    'WEEKDAY_NAMES',
    'WeeklyHours',
    'hours_on',
    'parse_hours_text',
    'parse_opening_hours_specification',
    'parse_osm_hours',
    'render_ranges',
    'render_weekly',
    'status_at',
]
