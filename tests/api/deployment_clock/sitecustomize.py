"""Put on PYTHONPATH of a `sportello serve` started by tests/api/conftest_deployment.py: every
process of it (the supervisor and each worker uvicorn spawns) imports this at start.

The demo content is dated against a reference clock (examples/demo-brand/sources.yaml), and the
in-process tests answer on it with `app.dependency_overrides[get_now]`. This gives each worker's
app the same override, through the factory `sportello serve` names (`api.app:create_app_from_env`),
so the deployment runs the production command and production code and answers on the same clock.
Only the route clock moves, as in process: leases, background work and logs keep real time.
"""

from __future__ import annotations

import os
from datetime import datetime

CLOCK = "SPORTELLO_TESTS_CLOCK"  # ISO 8601; not a SPORTELLO_ setting: the service never reads it

if os.environ.get(CLOCK):
    import api.app
    from api.deps import get_now

    _now = datetime.fromisoformat(os.environ[CLOCK])
    _create_app_from_env = api.app.create_app_from_env

    def _create_app_at_the_test_clock():  # type: ignore[no-untyped-def]
        app = _create_app_from_env()
        app.dependency_overrides[get_now] = lambda: _now
        return app

    api.app.create_app_from_env = _create_app_at_the_test_clock
