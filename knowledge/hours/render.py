"""Opening hours written for a customer: '9:00–12:30 e 15:00–19:30', 'lunedì–venerdì 9:00–19:30'.

Day names come from CLDR (`knowledge.text.calendar`), the connecting words from the language's
data file, so any language with a data file renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from knowledge.hours.model import MIDNIGHT, TimeRange, WeeklyHours, sorted_ranges
from knowledge.text import phrase_table, weekday_name


def render_ranges(ranges: Sequence[TimeRange] | None, lang: str = "it") -> str:
    """'9:00–12:30 e 15:00–19:30', 'chiuso' / 'closed' (in `lang`)."""
    words: dict[str, str] = phrase_table(lang, "hours")
    if ranges is None:
        return words["unknown"]
    if not ranges:
        return words["closed"]
    if len(ranges) == 1 and ranges[0].all_day:
        return words["all_day"]
    parts = [f"{_clock_text(r.opens)}–{_clock_text(r.closes, closing=True)}" for r in sorted_ranges(ranges)]
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {words['and']} {parts[-1]}"


def render_weekly(weekly: WeeklyHours | None, lang: str = "it") -> str:
    """'lunedì–venerdì 9:00–19:30; sabato 9:00–13:00; domenica chiuso': equal consecutive days
    grouped, unknown days left out."""
    words: dict[str, str] = phrase_table(lang, "hours")
    if weekly is None or not weekly.days:
        return words["unknown"]
    runs: list[tuple[int, int, tuple[TimeRange, ...]]] = []
    for day in range(7):
        if day not in weekly.days:
            continue
        ranges = sorted_ranges(weekly.days[day])
        if runs and runs[-1][1] == day - 1 and runs[-1][2] == ranges:
            runs[-1] = (runs[-1][0], day, ranges)
        else:
            runs.append((day, day, ranges))
    if len(runs) == 1 and runs[0][:2] == (0, 6):
        return f"{words['every_day']} {render_ranges(runs[0][2], lang)}"
    parts = []
    for first, last, ranges in runs:
        if first == last:
            label = weekday_name(first, lang)
        elif last == first + 1:
            label = f"{weekday_name(first, lang)} {words['and']} {weekday_name(last, lang)}"
        else:
            label = f"{weekday_name(first, lang)}–{weekday_name(last, lang)}"
        parts.append(f"{label} {render_ranges(ranges, lang)}")
    return "; ".join(parts)


def _clock_text(value: time, *, closing: bool = False) -> str:
    if closing and value == MIDNIGHT:
        return "24:00"
    return f"{value.hour}:{value.minute:02d}"
