"""What the load benchmark's simulated people do and how their numbers are read, as plain
functions (no locust, no gevent: the runner imports this module, and so does the locustfile).

- `Pool` and `plan_conversation`: a customer's conversation of 3–5 turns drawn from an eval
  suite (single questions, the suite's follow-up pairs kept in order), ending for a share of
  customers in a request for a person, which opens a handoff the operators then work.
- `read_stats` and `stats_table`: locust's `--csv` stats file as rows per request type.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path

# The names under which locust reports each request (one row each in the table).
CUSTOMER_MESSAGE = "customer message"
OPERATOR_LIST = "operator list open"
OPERATOR_CLAIM = "operator claim"
OPERATOR_CLAIM_TAKEN = "operator claim (taken by another)"
OPERATOR_REPLY = "operator reply"
OPERATOR_RESOLVE = "operator resolve"
REQUEST_TYPES = (CUSTOMER_MESSAGE, OPERATOR_LIST, OPERATOR_CLAIM, OPERATOR_CLAIM_TAKEN, OPERATOR_REPLY,
                 OPERATOR_RESOLVE)  # fmt: skip

# The suite's category whose cases ask for a person (evals/suites/*.yaml).
PERSON_CATEGORY = "handoff_request"


@dataclass(frozen=True)
class Pool:
    """The customer messages a conversation is drawn from."""

    questions: tuple[str, ...]  # first messages of the suite's one-turn cases
    follow_ups: tuple[tuple[str, ...], ...]  # the suite's multi-turn cases, turns in order
    person_requests: tuple[str, ...]  # the last turn of each case that asks for a person

    @classmethod
    def from_suite(cls, path: Path) -> Pool:
        from evals import load_suite  # here: the locustfile reads a pool from JSON, without evals

        cases = load_suite(path).cases
        person = tuple(dict.fromkeys(c.turns[-1] for c in cases if c.category == PERSON_CATEGORY))
        others = [c for c in cases if c.category != PERSON_CATEGORY]
        pool = cls(
            questions=tuple(c.turns[0] for c in others if len(c.turns) == 1),
            follow_ups=tuple(c.turns for c in others if len(c.turns) > 1),
            person_requests=person,
        )
        if not pool.questions or not pool.person_requests:
            raise ValueError(f"{path}: needs one-turn cases and cases of category {PERSON_CATEGORY!r}")
        return pool

    def dumps(self) -> str:
        return json.dumps({"questions": self.questions, "follow_ups": self.follow_ups,
                           "person_requests": self.person_requests}, ensure_ascii=False)  # fmt: skip

    @classmethod
    def loads(cls, text: str) -> Pool:
        data = json.loads(text)
        return cls(tuple(data["questions"]), tuple(tuple(f) for f in data["follow_ups"]),
                   tuple(data["person_requests"]))  # fmt: skip


def plan_conversation(
    rng: random.Random, pool: Pool, *, handoff_share: float, follow_up_share: float = 0.4
) -> list[str]:
    """3–5 customer messages: questions and follow-up pairs (a pair only where it fits whole),
    the last one a request for a person with probability `handoff_share`."""
    length = rng.randint(3, 5)
    wants_person = rng.random() < handoff_share
    body = length - int(wants_person)
    turns: list[str] = []
    while len(turns) < body:
        pair = rng.choice(pool.follow_ups) if pool.follow_ups else ()
        if pair and len(turns) + len(pair) <= body and rng.random() < follow_up_share:
            turns.extend(pair)
        else:
            turns.append(rng.choice(pool.questions))
    if wants_person:
        turns.append(rng.choice(pool.person_requests))
    return turns


@dataclass(frozen=True)
class RequestStats:
    """One request type over the whole run, as locust counted it. Locust keeps response times in
    buckets (exact below 100 ms, then rounded to 10 ms, above 1 s to 100 ms): percentiles are
    as precise as that."""

    name: str
    requests: int
    failures: int
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def ok_per_second(self) -> float:
        return self.per_second * (self.requests - self.failures) / self.requests if self.requests else 0.0


def read_stats(path: Path) -> dict[str, RequestStats]:
    """`<prefix>_stats.csv` (locust `--csv <prefix>`) by request name, the "Aggregated" row left out."""
    rows: dict[str, RequestStats] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                continue
            rows[row["Name"]] = RequestStats(
                name=row["Name"],
                requests=int(row["Request Count"]),
                failures=int(row["Failure Count"]),
                per_second=float(row["Requests/s"]),
                p50_ms=_ms(row["50%"]),
                p95_ms=_ms(row["95%"]),
                p99_ms=_ms(row["99%"]),
                max_ms=_ms(row["Max Response Time"]),
            )
    return rows


def read_failures(path: Path) -> list[tuple[str, str, int]]:
    """`<prefix>_failures.csv`: (request name, error, occurrences), most frequent first."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        found = [(r["Name"], r["Error"], int(r["Occurrences"])) for r in csv.DictReader(handle)]
    return sorted(found, key=lambda f: -f[2])


def _ms(value: str) -> float:
    return float(value) if value not in ("", "N/A") else 0.0


def stats_table(stats: dict[str, RequestStats]) -> list[list[str]]:
    """Rows for the printed table: request type, requests, per second (successful), p50/p95/p99,
    max, errors; request types in REQUEST_TYPES order, then any other."""
    names = [n for n in REQUEST_TYPES if n in stats] + sorted(set(stats) - set(REQUEST_TYPES))
    return [
        [
            s.name, str(s.requests), f"{s.ok_per_second:.1f}", f"{s.p50_ms:.0f}", f"{s.p95_ms:.0f}",
            f"{s.p99_ms:.0f}", f"{s.max_ms:.0f}", str(s.failures),
        ]
        for s in (stats[n] for n in names)
    ]  # fmt: skip


TABLE_COLUMNS = ("request", "requests", "ok/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors")
