"""One typed settings object, read once from SPORTELLO_* environment variables at the edge (CLI or
API start-up) and passed down; nothing below reads the environment itself.

It imports nothing of ours but the exception root, and no third-party package: every command
starts by reading settings, and pydantic-settings alone costs ~120 ms of start-up (measured:
`python -X importtime`), ten times a bare interpreter. The reader below covers what the fields
need: str, int, float, bool, Path, Literal choices and optional values, each validated with an
error that names the variable.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from sportello.errors import SportelloError

__all__ = ["ENV_PREFIX", "RetrievalMode", "Settings", "SettingsError"]

ENV_PREFIX = "SPORTELLO_"
RetrievalMode = Literal["dense", "hybrid", "bm25"]
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class SettingsError(SportelloError):
    """A SPORTELLO_* variable has a value the service cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    manifest: Path | None = None
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8001 for a `chroma run` server
    # While the Chroma server does not answer, turns are lexical-only; it is asked again this often.
    chroma_retry_seconds: float = 5.0
    # Up to this many chunks a worker keeps a copy of the vectors in memory (exact dense search, and
    # a Chroma outage does not reach it); above it, or at 0, every dense search asks Chroma.
    index_in_memory_limit: int = 50_000
    database_url: str | None = None  # default: SQLite file in the data dir

    embedder: str | None = None  # a name in knowledge.index.EMBEDDERS; default: by embedding_base_url
    embedding_base_url: str | None = None  # an OpenAI-compatible /v1/embeddings endpoint
    embedding_model: str = "text-embedding-3-small"

    # dense | hybrid | bm25 — dense is the measured best on the demo suite (README, "Retrieval").
    retrieval_mode: RetrievalMode = "dense"

    composer: str | None = None  # a name in agent.composers.COMPOSERS; default: llm when configured
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 20.0
    # Read from OPENAI_API_KEY (the name every OpenAI-compatible tool uses) or SPORTELLO_OPENAI_API_KEY.
    openai_api_key: str | None = None

    admin_key: str | None = None
    # Fernet keys (comma-separated, the first encrypts) for the secrets stored in the database
    # (webhook signing secrets); without it, a key file in the data dir (api/secretbox.py).
    secret_key: str | None = None
    metrics_key: str | None = None  # when set, /metrics wants `Authorization: Bearer <it>`
    # Requests per minute (bursts up to the same number), per process unless redis_url is set:
    # per API key (one channel key carries every customer of a number), per end customer (a
    # conversation) on the message routes, and failed authentications per client address.
    rate_limit_per_minute: int = 6000
    rate_limit_per_customer_per_minute: int = 30
    auth_failures_per_minute: int = 30
    # Shared rate limits across every process: redis://host:6379/0 (else each process has its own).
    redis_url: str | None = None
    redis_prefix: str = "sportello"  # key prefix, so deployments (and test runs) can share a server
    # /readyz fails (503, `checks.disk`) while the data dir or the SQLite file's folder has less
    # free space than this, before writes fail with 507; 0 turns the check off.
    min_free_bytes: int = 100_000_000
    max_body_bytes: int = 64_000  # larger request bodies get 413 (declared or streamed)
    log_level: str = "INFO"
    # Before /readyz says ready, build the assistant and the index and take one throwaway turn
    # (not stored), so the first customer's reply is as fast as a warm one.
    warmup: bool = True
    # How often each worker reads the index generation in the database (one primary-key read) to
    # serve an index another process's sync published; 0 turns the check off.
    index_check_seconds: float = 1.0

    # What `sportello serve` hands uvicorn, against slow or idle clients holding sockets open
    # (uvicorn has no header-read timeout: the reverse proxy's client_header_timeout is that).
    keep_alive_seconds: int = 5  # an idle keep-alive connection is closed after this long
    # Connections plus in-flight requests a worker accepts before answering 503 (None = no limit).
    limit_concurrency: int | None = 1000
    max_header_bytes: int = 16_384  # h11's cap on an incomplete request line and headers
    # With --workers N, uvicorn's supervisor pings each worker and kills one that does not answer
    # within this many seconds. A worker busy starting (imports, the embedding model, the warm-up
    # turn) on a loaded machine can hold its interpreter longer than uvicorn's 5 s and was killed
    # and restarted in the middle of its start-up.
    worker_healthcheck_seconds: int = 60
    # Conversations whose last activity is older than this are erased by `sportello retention run`.
    retention_days: float | None = None
    # Audit rows older than this are deleted by the same command (the log names who acted on which
    # conversation: personal data with a retention of its own). Unset: kept until deleted by hand.
    audit_retention_days: float | None = None

    # Messaging channels (api/channels/): a channel is configured when any of its variables is set;
    # /readyz names the ones it still lacks.
    whatsapp_verify_token: str | None = None  # Meta's webhook verification (hub.verify_token)
    whatsapp_app_secret: str | None = None  # checks X-Hub-Signature-256 on every webhook
    whatsapp_access_token: str | None = None
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    # An approved template ("name" or "name:language_code") sent instead of an operator's reply
    # once the 24-hour customer service window has closed; without one such replies are refused.
    whatsapp_template: str | None = None
    telegram_bot_token: str | None = None
    telegram_secret_token: str | None = None  # X-Telegram-Bot-Api-Secret-Token, set by set-webhook
    telegram_api_base: str = "https://api.telegram.org"
    chatwoot_url: str | None = None  # e.g. https://app.chatwoot.com
    chatwoot_bot_token: str | None = None  # the agent bot's access token
    # Messages of one conversation that arrive within this many seconds form one turn.
    debounce_seconds: float = 2.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from SPORTELLO_* variables (`environ` defaults to the process environment);
        keyword overrides win over the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        hints = typing.get_type_hints(cls)
        for item in fields(cls):
            names = [f"{ENV_PREFIX}{item.name.upper()}"]
            if item.name == "openai_api_key":
                names.insert(0, "OPENAI_API_KEY")
            raw = next((env[name] for name in names if name in env), None)
            if raw is not None:
                values[item.name] = _convert(names[-1], raw, hints[item.name])
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sportello.db').resolve()}"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url or self.openai_api_key) and bool(self.llm_model)


def _convert(name: str, raw: str, annotation: Any) -> Any:
    """The value of one variable as its field's type, or SettingsError naming the variable."""
    args = get_args(annotation)
    if get_origin(annotation) in (typing.Union, types.UnionType):
        if raw.strip() == "":
            return None  # an empty optional variable means "not set"
        annotation = next(arg for arg in args if arg is not type(None))
        args = get_args(annotation)
    value = raw.strip()
    try:
        if get_origin(annotation) is Literal:
            if value.lower() not in args:
                raise ValueError(f"expected one of {', '.join(map(str, args))}")
            return value.lower()
        if annotation is bool:
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise ValueError("expected true or false")
        if annotation is int:
            if not value.replace("_", "").lstrip("-").isdigit():
                raise ValueError("expected a whole number")
            return int(value.replace("_", ""))
        if annotation is float:
            try:
                return float(value)
            except ValueError:
                raise ValueError("expected a number") from None
        if annotation is Path:
            return Path(value).expanduser()
        return raw
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r}: {exc}") from None
