"""The paraphrase benchmark on every brand: retrieval recall@1 and MRR against the agent's
end-to-end success@1 and answered rate, on the same questions.

    .venv/bin/python -m benchmarks.paraphrase [--brand NAME ...] [--json reports/paraphrase.json]

Offline, bundled embedder; each brand synced once into reports/bench-data/ (see benchmarks/brands.py).
Prints numbers; asserts nothing (the issue's target: success@1 within 3 points of recall@1).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.brands import brands
from evals import ParaphraseScore, paraphrase_cases, score_paraphrases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brand", action="append", help="Only these suites (file stems); default: all.")
    parser.add_argument("--json", type=Path, default=Path("reports/paraphrase.json"))
    args = parser.parse_args()
    logging.disable(logging.INFO)

    table = Table(title="paraphrase benchmark: retrieval vs end to end (offline)")
    for column in ("brand", "subset", "cases", "R@1", "MRR", "success@1", "answered", "gap (pts)"):
        table.add_column(column, justify="left" if column in ("brand", "subset") else "right")
    out: dict[str, dict[str, object]] = {}
    for brand in brands(args.brand):
        kb = brand.assistant.kb
        results = score_paraphrases(
            paraphrase_cases(brand.suite),
            search=lambda q, kb=kb: kb.search(q, k=20, mode="dense"),
            respond=lambda conv, text, now, a=brand.assistant: a.respond(conv, text, now=now).reply,
            now=lambda case, b=brand: b.now(case.now),
        )
        subsets = {"all": results, "paraphrase": [r for r in results if r.category == "paraphrase"]}
        out[brand.name] = {}
        for subset, chosen in subsets.items():
            if not chosen:
                continue
            score = ParaphraseScore.of(chosen)
            out[brand.name][subset] = score.to_dict()
            table.add_row(brand.name, subset, str(score.cases), *(_fmt(v) for v in (
                score.recall_at_1, score.mrr, score.success_at_1, score.answered)), _fmt(score.gap))
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) and value <= 1 else str(value)


if __name__ == "__main__":
    main()
