"""What a page or FAQ entry says, and its parts: the body (an FAQ's answer), its main heading, and
the sections headed for weekly and for dated opening hours.

Shared by the hours reader (`knowledge.facts.hours`), the store directory (a store described only
in a page's prose) and the promotion reader.
"""

from __future__ import annotations

import re

from knowledge.documents import Document
from knowledge.text import fold

_HOURS_HEADING = re.compile(r"orari|orario|hours|opening|apertur|when we.?re open|quando siamo aperti")
_SPECIAL_HEADING = re.compile(
    r"festiv|holiday|special|eccezional|straordinar|natal|christmas|ferragosto|chiusur[ae] (estiv|annual)"
)


def document_body(document: Document) -> str:
    """What a document says: an FAQ entry's answer (its question is the title), else the text."""
    faq = document.data.get("faq")
    if isinstance(faq, dict) and faq.get("answer"):
        return str(faq["answer"])
    return document.text


def main_heading(document: Document) -> str:
    """A page's first heading (its h1, usually the name of what it is about); '' for an FAQ entry."""
    if document.kind == "faq":
        return ""
    for line in document.text.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    headings = document.data.get("headings")
    return str(headings[0]) if isinstance(headings, list) and headings else ""


def hours_sections(document: Document) -> tuple[tuple[str, bool], tuple[str, bool]]:
    """((text for weekly hours, headed?), (text for dated hours, headed?)): the sections whose
    headings announce them when the page has such headings, else the rest of the body."""
    body = document_body(document)
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in body.splitlines():
        if line.startswith("#"):
            sections.append((fold(line.lstrip("#").strip()), []))
        else:
            sections[-1][1].append(line)
    weekly = [s for s in sections if _HOURS_HEADING.search(s[0]) and not _SPECIAL_HEADING.search(s[0])]
    special = [s for s in sections if _SPECIAL_HEADING.search(s[0])]

    def join(parts: list[tuple[str, list[str]]]) -> str:
        return "\n\n".join("\n".join(lines) for _, lines in parts)

    weekly_text = join(weekly or [s for s in sections if not _SPECIAL_HEADING.search(s[0])])
    return (weekly_text, bool(weekly)), (join(special or sections), bool(special))
