"""Documents → token-sized chunks, each carrying its page title and heading path.

A chunk is what gets embedded and cited, so it must make sense on its own: the title and
the nearest heading are written in front of the body ("Spedizioni › Costi\n...").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from knowledge.documents import Chunk, Document
from knowledge.index.tokens import count_tokens

_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")


@dataclass(frozen=True)
class ChunkingPolicy:
    # Small chunks: the offline embedder's cost grows faster than linearly with length
    # (see README, "Embedding cost"), and short chunks make sharper citations.
    max_tokens: int = 160
    overlap_tokens: int = 20


def _splitter(policy: ChunkingPolicy) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(
        chunk_size=policy.max_tokens,
        chunk_overlap=policy.overlap_tokens,
        length_function=count_tokens,
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
        keep_separator="end",
    )


def _sections(text: str) -> list[tuple[list[str], str]]:
    """Split text at markdown headings: [(heading path, body)], keeping tables and lists intact."""
    sections: list[tuple[list[str], str]] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []

    def flush() -> None:
        content = "\n".join(body).strip()
        if content:
            sections.append(([h for _, h in path], content))
        body.clear()

    for line in text.splitlines():
        match = _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, match.group(2))]
        else:
            body.append(line)
    flush()
    return sections


def chunk_document(document: Document, policy: ChunkingPolicy = ChunkingPolicy()) -> list[Chunk]:
    splitter = _splitter(policy)
    pieces: list[tuple[str, str]] = []  # (heading label, body piece)
    for headings, body in _sections(document.text) or [([], document.title)]:
        headings = [h for h in headings if h.strip().lower() != document.title.strip().lower()]
        label = " › ".join(headings)
        for piece in splitter.split_text(body):
            pieces.append((label, piece.strip()))
    chunks = []
    for index, (label, piece) in enumerate(pieces):
        header = document.title if not label else f"{document.title} › {label}"
        # An FAQ entry's body already starts with its question (the title): do not say it twice.
        text = piece if piece.startswith(header) else f"{header}\n{piece}"
        chunk_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
        chunks.append(
            Chunk(
                id=f"{_doc_digest(document.doc_id)}-{index}",
                doc_id=document.doc_id,
                index=index,
                text=text,
                metadata={
                    "doc_id": document.doc_id,
                    "source_id": document.source_id,
                    "source_type": document.source_type,
                    "kind": document.kind,
                    "url": document.url or "",
                    "title": document.title,
                    "heading": label,
                    "updated_at": document.updated_at.isoformat() if document.updated_at else "",
                    "updated_at_evidence": document.updated_at_evidence,
                    "fetched_at": document.fetched_at.isoformat(),
                    "content_hash": document.content_hash,
                    "chunk_hash": chunk_hash,
                    "language": document.language,
                },
            )
        )
    return chunks


def _doc_digest(doc_id: str) -> str:
    # Chunk ids must be stable across syncs and safe as Chroma ids whatever the URL contains.
    return hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:16]
