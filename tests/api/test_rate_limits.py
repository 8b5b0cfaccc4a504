"""Rate limits at the edge: unknown keys by client address, each key, each end customer; a refused
request costs no database work. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from sportello.settings import Settings
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
)

PROBLEM = "application/problem+json"


@contextmanager
def statements(service: Service) -> Iterator[list[str]]:
    """The SQL statements the service runs inside the block."""
    seen: list[str] = []
    engine = service.app.state.runtime.db.engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _assert_429(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    assert int(response.headers["retry-after"]) >= 1


def test_unknown_keys_from_one_address_are_refused_before_any_lookup(make_service: Any) -> None:
    service = make_service(auth_failures_per_minute=3)
    bogus = [{"Authorization": f"Bearer sk_guess_{n}"} for n in range(4)]
    statuses = [service.client.get("/v1/handoffs", headers=h).status_code for h in bogus[:3]]

    with statements(service) as executed:
        refused = service.client.get("/v1/handoffs", headers=bogus[3])

    assert statuses == [401, 401, 401]
    _assert_429(refused)
    assert executed == []


def test_a_key_at_its_limit_is_refused_without_database_work_and_others_go_on(make_service: Any) -> None:
    service = make_service(rate_limit_per_minute=2)
    busy, other = service.key("operator", "busy"), service.key("operator", "other")
    for _ in range(2):
        service.client.get("/v1/handoffs", headers=busy)

    with statements(service) as executed:
        refused = service.client.get("/v1/handoffs", headers=busy)

    _assert_429(refused)
    assert executed == []
    assert service.client.get("/v1/handoffs", headers=other).status_code == 200


def test_one_customer_sending_too_fast_is_limited_and_the_other_customers_of_the_key_are_not(
    make_service: Any,
) -> None:
    service = make_service(rate_limit_per_customer_per_minute=2)
    answered = [service.send("wa-busy", "Quali sono gli orari?").status_code for _ in range(2)]

    refused = service.send("wa-busy", "Quali sono gli orari?")

    assert answered == [200, 200]
    _assert_429(refused)
    assert "customer" in refused.json()["detail"]
    assert service.send("wa-calm", "Quali sono gli orari?").status_code == 200


def test_the_default_limits_let_a_busy_key_through(make_service: Any) -> None:
    # 700 requests in a moment: more than the old 600-a-minute default, which throttled a busy brand.
    service = make_service(rate_limit_per_minute=Settings().rate_limit_per_minute)
    headers = service.key("operator")
    statuses = {service.client.get("/v1/handoffs", headers=headers).status_code for _ in range(700)}

    assert statuses == {200}
