"""The eval report as a Markdown summary for pull requests (rendered from the JSON report)."""

from __future__ import annotations

from typing import Any

HEADLINE_METRICS = ("accuracy", "c_at_1", "citation_recall", "handoff_recall", "grounded_claim_rate")


def format_value(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name.endswith("_ms"):
        return f"{value:.1f} ms"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.3f}"


def format_delta(name: str, delta: Any) -> str:
    if delta is None:
        return ""
    if delta == 0:
        return "="
    sign = "+" if delta > 0 else "−"
    magnitude = abs(delta)
    return f"{sign}{magnitude:.1f} ms" if name.endswith("_ms") else f"{sign}{magnitude:.3f}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any], *, max_failures: int = 50) -> str:
    metrics = report["metrics"]
    lines = [
        f"## Eval `{report['suite']}`: {metrics['passed']}/{metrics['cases']} passed",
        "",
        f"Run {report['run_at']} · target {report['target'].get('mode', '?')}"
        + (f" ({report['target']['url']})" if report["target"].get("url") else "")
        + (" · LLM judge on" if report.get("judge") else ""),
        "",
    ]
    for note in report.get("notes") or []:
        lines.append(f"> {note}")
    if report.get("notes"):
        lines.append("")

    deltas = {d["name"]: d for d in (report.get("baseline") or {}).get("metrics", [])}
    header = "| metric | value |" + (" Δ vs baseline |" if deltas else "")
    lines += [header, "|---|---:|" + ("---:|" if deltas else "")]
    for name, value in metrics.items():
        row = f"| {name} | {format_value(name, value)} |"
        if deltas:
            delta = deltas.get(name, {})
            marker = {"better": " ✅", "worse": " ⚠️"}.get(delta.get("direction", ""), "")
            row += f" {format_delta(name, delta.get('delta'))}{marker} |"
        lines.append(row)
    lines.append("")

    for title, key in (("By category", "by_category"), ("By language", "by_language")):
        groups = report.get(key) or {}
        if not groups:
            continue
        lines += [f"### {title}", "", "| | cases | passed | " + " | ".join(HEADLINE_METRICS) + " |",
                  "|---|---:|---:|" + "---:|" * len(HEADLINE_METRICS)]
        for name, group in groups.items():
            values = " | ".join(format_value(m, group.get(m)) for m in HEADLINE_METRICS)
            lines.append(f"| {_cell(name)} | {group['cases']} | {group['passed']} | {values} |")
        lines.append("")

    baseline = report.get("baseline")
    if baseline:
        lines += [f"### Compared with the baseline of {baseline.get('baseline_run_at') or 'unknown date'}", ""]
        for label, key in (("Newly failing", "newly_failing"), ("Newly passing", "newly_passing"),
                           ("New cases", "added"), ("Cases no longer in the suite", "removed")):
            ids = baseline.get(key) or []
            if ids:
                lines.append(f"- **{label}** ({len(ids)}): " + ", ".join(f"`{i}`" for i in ids))
        if not any(baseline.get(k) for k in ("newly_failing", "newly_passing", "added", "removed")):
            lines.append("- No case changed outcome.")
        lines.append("")

    gate = report.get("gate")
    if gate:
        verdict = "passed" if gate["passed"] else "**failed**"
        lines += [f"### Gate {verdict}", ""]
        lines += [f"- {failure}" for failure in gate["failures"]] or ["- every threshold met"]
        lines.append("")

    failing = [c for c in report["cases"] if not c["passed"]]
    lines += [f"### Failing cases ({len(failing)})", ""]
    for case in failing[:max_failures]:
        where = ", ".join(x for x in (case.get("category"), case.get("lang")) if x)
        lines.append(f"- `{case['id']}` ({where}): " + "; ".join(_cell(r) for r in case["reasons"]))
    if len(failing) > max_failures:
        lines.append(f"- … and {len(failing) - max_failures} more (see the JSON or HTML report)")
    if not failing:
        lines.append("None.")
    return "\n".join(lines).rstrip() + "\n"
