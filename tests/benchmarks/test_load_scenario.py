"""The load benchmark's scenario logic (benchmarks/load/scenario.py): the conversations its
customers hold, and locust's stats read into the printed table. The benchmark itself is a script
(`python -m benchmarks.load`), not a test."""

from __future__ import annotations

import random
from pathlib import Path

from benchmarks.load.scenario import (
    CUSTOMER_MESSAGE,
    OPERATOR_CLAIM,
    Pool,
    plan_conversation,
    read_failures,
    read_stats,
    stats_table,
)
from tests.conftest import DEMO_SUITE

# The header and rows locust 2.x writes to <prefix>_stats.csv (shortened to two request types).
STATS_CSV = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
POST,customer message,1000,10,110,120.5,20.1,361.2,1500.0,50.0,0.5,110,130,150,160,190,220,280,310,360,360,360
POST,operator claim,35,0,78,80.2,30.0,154.3,900.0,2.3,0.0,78,90,100,110,120,130,150,150,150,150,150
,Aggregated,1035,10,110,118.0,20.1,361.2,1480.0,52.3,0.5,110,130,150,160,190,220,280,310,360,360,360
"""

FAILURES_CSV = """Method,Name,Error,Occurrences
POST,customer message,HTTP 503: database unavailable,3
POST,customer message,HTTP 500: boom,7
"""


def test_the_demo_suite_gives_questions_follow_ups_and_requests_for_a_person() -> None:
    pool = Pool.from_suite(DEMO_SUITE)
    assert len(pool.questions) > 50
    assert all(len(pair) >= 2 for pair in pool.follow_ups) and pool.follow_ups
    assert "Voglio parlare con una persona" in pool.person_requests
    assert not set(pool.person_requests) & set(pool.questions)
    assert Pool.loads(pool.dumps()) == pool


def test_a_conversation_has_three_to_five_turns_with_follow_ups_kept_whole_and_in_order() -> None:
    pool = Pool.from_suite(DEMO_SUITE)
    rng = random.Random(1)
    for _ in range(300):
        turns = plan_conversation(rng, pool, handoff_share=0.0)
        assert 3 <= len(turns) <= 5
        for pair in pool.follow_ups:
            for i, turn in enumerate(turns):
                if turn == pair[1] and turn not in pool.questions:
                    assert turns[i - 1] == pair[0]


def test_about_the_given_share_of_conversations_ends_asking_for_a_person() -> None:
    pool = Pool.from_suite(DEMO_SUITE)
    rng = random.Random(2)
    ends = [plan_conversation(rng, pool, handoff_share=0.25)[-1] in pool.person_requests for _ in range(2000)]
    assert 0.2 < sum(ends) / len(ends) < 0.3


def test_locust_stats_become_one_row_per_request_type_with_successful_requests_per_second(tmp_path: Path) -> None:
    (tmp_path / "run_stats.csv").write_text(STATS_CSV, encoding="utf-8")
    stats = read_stats(tmp_path / "run_stats.csv")
    assert set(stats) == {CUSTOMER_MESSAGE, OPERATOR_CLAIM}
    message = stats[CUSTOMER_MESSAGE]
    assert (message.requests, message.failures, message.p50_ms, message.p95_ms, message.p99_ms) == (1000, 10, 110, 220, 310)
    assert message.ok_per_second == 49.5
    assert stats_table(stats) == [
        [CUSTOMER_MESSAGE, "1000", "49.5", "110", "220", "310", "361", "10"],
        [OPERATOR_CLAIM, "35", "2.3", "78", "130", "150", "154", "0"],
    ]


def test_locust_failures_are_listed_most_frequent_first(tmp_path: Path) -> None:
    (tmp_path / "run_failures.csv").write_text(FAILURES_CSV, encoding="utf-8")
    assert read_failures(tmp_path / "run_failures.csv") == [
        (CUSTOMER_MESSAGE, "HTTP 500: boom", 7), (CUSTOMER_MESSAGE, "HTTP 503: database unavailable", 3)
    ]
    assert read_failures(tmp_path / "missing.csv") == []
