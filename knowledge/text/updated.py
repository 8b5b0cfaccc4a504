"""Statements of when a text was last changed: "Aggiornato il 16 novembre 2026", "Last updated
20 October 2026", "ultima modifica: 03/11/2026". Page dating reads the date from them
(`knowledge.sources.web.page_dates`); answering leaves them out of what it quotes, since such a
line says nothing about the customer's question.
"""

from __future__ import annotations

import re

from knowledge.text.dates import MONTH_NUMBERS

__all__ = ["DATE_AT_START", "UPDATE_STATEMENT", "without_update_statements"]

_MONTH = "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True))

# Words that introduce the date a page was last changed.  Publication cues ("pubblicato il",
# "posted on") are left out on purpose: a first publication date says nothing about currency.
_CUE = (
    r"(?:ultim[oa]\s+(?:aggiornamento|modifica|revisione)"
    r"|data\s+(?:di\s+|dell['’]\s*)?(?:aggiornamento|modifica|revisione)"
    r"|aggiornat[oaie]|modificat[oaie]|revisionat[oaie]"
    r"|last\s+(?:updated?|modified|revised|reviewed)|updated|modified|revised)"
)
# Between the cue and the date: "il", "al", "on", "in data", a weekday, punctuation — no digits.
_GAP = r"[^\n\d]{0,16}?"
_DATE = (
    r"(?P<iso>(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})(?:[T ](?P<ih>\d{1,2}):(?P<imin>\d{2}))?)"
    r"|(?P<num>(?P<n1>\d{1,2})[./-](?P<n2>\d{1,2})[./-](?P<ny>\d{4}|\d{2}))(?!\d)"
    rf"|(?P<dmy>(?P<dd>\d{{1,2}})(?:°|º|st|nd|rd|th)?\s+(?:of\s+)?(?P<dm>{_MONTH})\.?,?\s+(?P<dy>\d{{4}}))"
    rf"|(?P<mdy>(?P<mm>{_MONTH})\.?\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<my>\d{{4}}))"
    rf"|(?P<my_only>(?P<om>{_MONTH})\s+(?P<oy>\d{{4}}))"
)
UPDATE_STATEMENT = re.compile(rf"\b{_CUE}\b{_GAP}(?:{_DATE})", re.IGNORECASE)
DATE_AT_START = re.compile(rf"^\s*(?:{_DATE})", re.IGNORECASE)


def without_update_statements(text: str) -> str:
    """The text with every "updated on <date>" statement blanked out."""
    return UPDATE_STATEMENT.sub(" ", text)
