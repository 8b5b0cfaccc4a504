"""The service's logging, as every worker process configures it (api.logs.configure_logging)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from api.logs import configure_logging
from api.webhooks import new_secret
from tests.api.conftest_api import WebhookReceiver, receiver_fixture  # noqa: F401 (fixture, used by name)

TOKEN = "tok_0123456789secret"


@pytest.fixture
def service_logging(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Logging as `configure_logging` leaves it, restored afterwards for the rest of the suite."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "uvicorn.access")}
    configure_logging("DEBUG")
    yield
    root.handlers[:], root.level = saved
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_a_worker_does_not_log_the_urls_it_delivers_to(
    service_logging: None, receiver: WebhookReceiver, capfd: pytest.CaptureFixture[str]
) -> None:
    receiver.secret = new_secret()
    httpx.post(f"{receiver.url}?token={TOKEN}", content=b"{}")
    logging.getLogger("api.webhooks").info("webhook_delivery", extra={"outcome": "delivered"})

    logged = capfd.readouterr().err
    assert "webhook_delivery" in logged  # our own lines are written
    assert TOKEN not in logged
