"""`python -m benchmarks.drills`: run the drills named (all by default), print a table, write JSON."""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from benchmarks.drills import disk_full, kill9, postgres_restart

Drill = tuple[Callable[[], dict[str, Any]], Callable[[dict[str, Any]], bool]]
DRILLS: dict[str, Drill] = {
    "kill9[sqlite]": (lambda: kill9.run("sqlite"), kill9.verdict),
    "kill9[postgresql]": (lambda: kill9.run("postgresql"), kill9.verdict),
    "postgres_restart": (postgres_restart.run, postgres_restart.verdict),
    "disk_full": (disk_full.run, disk_full.verdict),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("drills", nargs="*", help=f"some of {', '.join(DRILLS)} or their prefix (default: all)")
    parser.add_argument("--json", type=Path, default=Path("reports/drills.json"))
    args = parser.parse_args()
    chosen = [name for name in DRILLS if not args.drills or any(name.startswith(d) for d in args.drills)]
    results: dict[str, Any] = {}
    console = Console(width=200)
    for name in chosen:
        run, verdict = DRILLS[name]
        started = time.monotonic()
        try:
            result = run()
            result["passed"] = bool(verdict(result))
        except Exception as exc:
            result = {"passed": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
        result["seconds"] = round(time.monotonic() - started, 1)
        results[name] = result
        console.print(escape(f"{name}: {'passed' if result['passed'] else 'FAILED'} in {result['seconds']} s"))
    table = Table(title="fault drills")
    for column in ("drill", "result", "acked", "lost", "doubled", "half-stored", "events once / all", "statuses seen",
                   "notes"):
        table.add_column(column)
    for name, r in results.items():
        events = f"{r.get('events', 0) - r.get('events_missing', 0) - r.get('events_duplicated', 0)} / {r.get('events', '-')}"
        notes = r.get("error") or r.get("notes", "")
        table.add_row(escape(name), "passed" if r["passed"] else "FAILED", str(r.get("acknowledged", "-")), str(r.get("lost", "-")),
                      str(r.get("doubled", "-")), str(r.get("half_stored", "-")), events,
                      " ".join(f"{k}×{v}" for k, v in sorted(r.get("statuses", {}).items())), escape(str(notes)))
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
