"""Schemathesis against the service's own /openapi.json, over HTTP on loopback, bounded: every
operation gets a few generated requests, each with a valid key of one role (or none), on a fully
configured service (a synced index, a manifest, every channel's credentials), so a 5xx here is a
bug, not a missing setting. Every response must be documented: no server error, a documented
status code and content type, a body matching its schema, and schema-valid requests accepted:
never 422 (that would mean the schema promises what validation refuses); a documented 400 is a
refusal of meaning the schema cannot say (a period that ends before it starts, a forged cursor).
On SQLite and PostgreSQL; about 20 s each on two cores."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from api.keys import ROLES
from api.webhooks import DeliveryPolicy
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    Service,
    database_url_fixture,
    embedding_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    running_server,
)

EXAMPLES_PER_OPERATION = 12
FAQ = """question,answer,updated_at,url
Quanto costa la spedizione?,"La spedizione standard costa 6,90 euro.",2026-11-03,/faq/#spedizioni
Posso restituire un prodotto?,"Hai 30 giorni per il reso gratuito.",2026-11-04,/faq/#resi
"""
CONFIG = SchemathesisConfig.from_str(
    """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
"""
)
BOUNDED = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,  # nothing written outside tmp
    derandomize=False,  # new examples each run: a bounded run still explores over time
    phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failure as found
    suppress_health_check=list(HealthCheck),
)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _manifest(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "faq.csv").write_text(FAQ, encoding="utf-8")
    manifest = folder / "sources.yaml"
    manifest.write_text(
        "brand: Test Brand\nlanguage: it\nsources:\n"
        "  - id: faq\n    type: faq\n    path: faq.csv\n    base_url: https://brand.test\n",
        encoding="utf-8",
    )
    return manifest


def _configured(make_service: Any, tmp_path: Path, embedding_url: str) -> Service:
    nowhere = _closed_port_url()  # the providers' APIs: sends fail and are retried, never reach out
    service: Service = make_service(
        manifest=_manifest(tmp_path / "brand"),
        embedding_base_url=embedding_url,
        delivery=DeliveryPolicy(enabled=False),
        whatsapp_verify_token="verify-me",
        whatsapp_app_secret="app-secret",
        whatsapp_access_token="access-token",
        whatsapp_api_base=nowhere,
        telegram_bot_token="123:bot",
        telegram_secret_token="telegram-secret",
        telegram_api_base=nowhere,
        chatwoot_url=nowhere,
        chatwoot_bot_token="chatwoot-token",
    )
    synced = service.client.post("/v1/sources/faq/sync", headers=service.key("content"))
    assert synced.status_code == 202, synced.text
    assert service.client.get("/readyz").status_code == 200, service.client.get("/readyz").text
    return service


def test_every_operation_answers_generated_requests_as_its_openapi_says(
    make_service: Any, tmp_path: Path, embedding_url: str
) -> None:
    service = _configured(make_service, tmp_path, embedding_url)
    keys = {role: ADMIN_KEY if role == "admin" else service._issued(role, role)["key"] for role in ROLES}
    credentials = st.sampled_from([None, *sorted(keys.values())])
    failures: dict[str, str] = {}
    with running_server(service.app, lifespan="off") as base_url:  # the TestClient runs the lifespan
        schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=CONFIG)
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:
            failure = _fuzz(operation, credentials)
            if failure is not None:
                failures[operation.label] = failure

    assert len(operations) >= 30
    assert not failures, "\n\n".join(f"{label}:\n{report}" for label, report in failures.items())


def _fuzz(operation: Any, credentials: st.SearchStrategy[str | None]) -> str | None:
    """The report of the first failure among the operation's bounded examples, or None."""

    @BOUNDED
    @given(case=operation.as_strategy(), key=credentials)
    def answers_as_documented(case: Any, key: str | None) -> None:
        if key is not None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
        case.call_and_validate()

    try:
        answers_as_documented()
    except (Exception, BaseExceptionGroup) as exc:  # schemathesis groups several failures
        return str(exc)[:2000]
    return None
