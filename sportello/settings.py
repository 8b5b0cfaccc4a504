"""One settings object, read once from SPORTELLO_* environment variables at the edge
(CLI or API start-up) and passed down; nothing below reads the environment itself."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPORTELLO_", extra="ignore")

    data_dir: Path = Path("data")
    manifest: Path | None = None
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8001 for a `chroma run` server
    database_url: str | None = None  # default: SQLite file in the data dir

    embedding_base_url: str | None = None  # an OpenAI-compatible /v1/embeddings endpoint
    embedding_model: str = "text-embedding-3-small"

    # dense | hybrid | bm25 — dense is the measured best on the demo suite (README, "Retrieval").
    retrieval_mode: Literal["dense", "hybrid", "bm25"] = "dense"

    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 20.0
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "SPORTELLO_OPENAI_API_KEY")
    )

    admin_key: str | None = None
    rate_limit_per_minute: int = 600
    max_body_bytes: int = 64_000
    log_level: str = "INFO"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sportello.db').resolve()}"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url or self.openai_api_key) and bool(self.llm_model)
