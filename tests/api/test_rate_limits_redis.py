"""Rate limits shared by every process through Redis (127.0.0.1:6379): two apps on one database
stand for two workers. Skipped only when nothing answers there, and never under CI=true."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from api.keys import hash_secret
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    REDIS_HOST,
    REDIS_PORT,
    REDIS_URL,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    require_server,
)


@pytest.fixture(name="shared_limits")
def shared_limits_fixture() -> Iterator[dict[str, Any]]:
    """Settings that put the limits in Redis under a prefix of this test's own (deleted after)."""
    require_server("Redis", REDIS_HOST, REDIS_PORT)
    prefix = f"sportello-test-{uuid.uuid4().hex[:12]}"
    yield {"redis_url": REDIS_URL, "redis_prefix": prefix}
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_two_workers_share_one_limit_per_key(make_service: Any, shared_limits: dict[str, Any]) -> None:
    first = make_service(rate_limit_per_minute=3, **shared_limits)
    second = make_service(rate_limit_per_minute=3, **shared_limits)
    headers = first.key("operator")

    on_first = first.client.get("/v1/handoffs", headers=headers).status_code
    on_second = [second.client.get("/v1/handoffs", headers=headers).status_code for _ in range(3)]

    assert (on_first, on_second) == (200, [200, 200, 429])
    assert int(second.client.get("/v1/handoffs", headers=headers).headers["retry-after"]) >= 1


def test_two_workers_share_one_limit_per_customer(make_service: Any, shared_limits: dict[str, Any]) -> None:
    first = make_service(rate_limit_per_customer_per_minute=1, **shared_limits)
    second = make_service(rate_limit_per_customer_per_minute=1, **shared_limits)
    second._keys = first._keys  # the same channel key on both workers

    assert first.send("wa-1", "Quali sono gli orari?").status_code == 200
    assert second.send("wa-1", "Quali sono gli orari?").status_code == 429
    assert second.send("wa-2", "Quali sono gli orari?").status_code == 200


def test_unknown_keys_are_counted_across_workers(make_service: Any, shared_limits: dict[str, Any]) -> None:
    first = make_service(auth_failures_per_minute=2, **shared_limits)
    second = make_service(auth_failures_per_minute=2, **shared_limits)
    guess = {"Authorization": "Bearer sk_guess"}

    statuses = [first.client.get("/v1/handoffs", headers=guess).status_code,
                second.client.get("/v1/handoffs", headers=guess).status_code,
                first.client.get("/v1/handoffs", headers=guess).status_code]

    assert statuses == [401, 401, 429]


def test_an_address_refused_for_unknown_keys_takes_nothing_from_a_good_keys_bucket(
    make_service: Any, shared_limits: dict[str, Any]
) -> None:
    # The address's look and the key's take are one script in Redis: the refusal comes first.
    service = make_service(auth_failures_per_minute=1, rate_limit_per_minute=2, **shared_limits)
    headers = service.key("operator")
    assert service.client.get("/v1/handoffs", headers={"Authorization": "Bearer sk_guess"}).status_code == 401

    refused = service.client.get("/v1/handoffs", headers=headers)

    assert refused.status_code == 429 and "unknown keys" in refused.json()["detail"]
    secret = headers["Authorization"].split()[1]
    bucket = f"{shared_limits['redis_prefix']}:ratelimit:key:{hash_secret(secret)}"
    assert not redis.Redis.from_url(REDIS_URL).exists(bucket)
