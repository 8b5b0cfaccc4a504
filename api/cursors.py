"""Keyset pagination cursors: an opaque URL-safe token for the (time, id) of a page's last row.
Every list route pages the same way (`?cursor=` the previous page's `next_cursor`)."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime

from api.errors import InvalidCursor


def encode_cursor(at: datetime, row_id: str) -> str:
    raw = json.dumps([at.isoformat(), row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, id_pattern: str) -> tuple[datetime, str]:
    """The (time, id) a cursor carries; InvalidCursor unless the id matches `id_pattern` (what
    the caller's ids look like: a forged cursor must not reach the query with anything else)."""
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(row_id, str) or not re.fullmatch(id_pattern, row_id):
            raise ValueError("not an id")
        return datetime.fromisoformat(at), row_id
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("invalid cursor: pass the next_cursor of a previous page unchanged") from exc
