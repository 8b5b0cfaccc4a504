"""A reply as a channel shows it: plain text (no markdown a phone would show raw), the citations as
short "Fonte: title – url (date)" lines in the reply's language, split at sentence boundaries into
messages under the channel's limit."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from agent import long_date, phrase

_LINK = re.compile(r"\[([^\]]+)\]\((\S+?)\)")
_EMPHASIS = re.compile(r"(\*\*|__|~~|`)(.+?)\1")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^\s*[*+]\s+", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def plain_text(text: str) -> str:
    """Markdown a messaging app would show raw, written out: links as 'text (url)', no emphasis
    marks, headings as plain lines, bullets as dashes."""
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _EMPHASIS.sub(lambda m: m.group(2), text)
    text = _HEADING.sub("", text)
    return _BULLET.sub("- ", text).strip()


def citation_lines(reply: dict[str, Any]) -> list[str]:
    """One line per distinct source: 'Fonte: Negozi e orari – https://… (1 novembre 2026)'."""
    lang = str(reply.get("language") or "en")
    lines: list[str] = []
    for citation in reply.get("citations") or []:
        source = " – ".join(p for p in (citation.get("title"), citation.get("url")) if p)
        if not source:
            continue
        updated = citation.get("updated_at")
        if updated:
            moment = datetime.fromisoformat(str(updated)) if not isinstance(updated, datetime) else updated
            line = phrase(lang, "channel.source_dated", source=source, date=long_date(moment, lang))
        else:
            line = phrase(lang, "channel.source", source=source)
        if line not in lines:
            lines.append(line)
    return lines


def reply_messages(reply: dict[str, Any], limit: int) -> list[str]:
    """The reply (as the API returns it) as the messages to send, each at most `limit` characters."""
    body = plain_text(str(reply.get("text") or ""))
    sources = "\n".join(citation_lines(reply))
    whole = f"{body}\n\n{sources}" if body and sources else body or sources
    return split_message(whole, limit)


def split_message(text: str, limit: int) -> list[str]:
    """Pack paragraphs, then sentences, then words into parts of at most `limit` characters; a
    part breaks inside a word only when a single word is longer than the limit."""
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[tuple[str, str]] = []  # (text, separator before it)
    for p_index, paragraph in enumerate(text.split("\n\n")):
        for s_index, sentence in enumerate(_SENTENCE_END.split(paragraph)):
            sep = "\n\n" if p_index and not s_index else " " if s_index else ""
            for w_index, chunk in enumerate(_fit(sentence, limit)):
                pieces.append((chunk, sep if not w_index else " "))
    parts: list[str] = []
    current = ""
    for piece, sep in pieces:
        if not current:
            current = piece
        elif len(current) + len(sep) + len(piece) <= limit:
            current += sep + piece
        else:
            parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


def _fit(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    chunks: list[str] = []
    current = ""
    for word in sentence.split(" "):
        while len(word) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(word[:limit])
            word = word[limit:]
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= limit:
            current += " " + word
        else:
            chunks.append(current)
            current = word
    if current:
        chunks.append(current)
    return chunks
