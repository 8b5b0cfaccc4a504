"""The eval report as one self-contained HTML page: inline CSS and SVG, no script, no external
asset, so it opens from a CI artifact or an e-mail attachment as it is.

Failing cases come first and expanded, with the transcript, citations and warnings.
"""

from __future__ import annotations

from html import escape
from typing import Any

from evals.report_markdown import HEADLINE_METRICS, format_delta, format_value

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:70rem;
padding:0 1rem;color:#1d2430}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #eef;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.better{color:#17803d}.worse{color:#b42318}.muted{color:#667}
details{border:1px solid #dde;border-radius:6px;margin:.5rem 0;padding:.4rem .8rem}
details.fail{border-left:4px solid #b42318}details.pass{border-left:4px solid #17803d}
summary{cursor:pointer;font-weight:600}.reasons{color:#b42318}
.turn{margin:.6rem 0}.msg{background:#eef3ff;border-radius:6px;padding:.3rem .6rem;display:inline-block}
.reply{background:#f5f5f2;border-radius:6px;padding:.4rem .6rem;white-space:pre-wrap;margin-top:.3rem}
.meta{font-size:.85rem;color:#445;margin:.2rem 0 0 .2rem}.tag{display:inline-block;border-radius:4px;
padding:0 .35rem;margin-right:.3rem;font-size:.8rem;background:#e8e8f0}.tag.warn{background:#fff1c2}
.tag.handoff{background:#ffe0dc}.tag.grounded{background:#dcf5e3}
"""


def render_html(report: dict[str, Any]) -> str:
    metrics = report["metrics"]
    title = f"Eval {report['suite']}: {metrics['passed']}/{metrics['cases']} passed"
    target = report.get("target") or {}
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">Run {escape(str(report["run_at"]))} · target {escape(str(target.get("mode", "?")))}'
        + (f" ({escape(str(target['url']))})" if target.get("url") else "")
        + (" · <strong>LLM judge on</strong>" if report.get("judge") else " · no LLM judge")
        + "</p>",
    ]
    parts += [f"<p><em>{escape(note)}</em></p>" for note in report.get("notes") or []]
    parts.append(_metrics_table(report))
    parts.append("<h2>By category</h2>")
    parts.append(_chart(report.get("by_category") or {}))
    parts.append(_groups_table(report.get("by_category") or {}))
    parts.append("<h2>By language</h2>")
    parts.append(_groups_table(report.get("by_language") or {}))
    if report.get("baseline"):
        parts.append(_baseline(report["baseline"]))
    if report.get("gate"):
        gate = report["gate"]
        parts.append(f"<h2>Gate {'passed' if gate['passed'] else 'failed'}</h2><ul>")
        parts += [f'<li class="worse">{escape(f)}</li>' for f in gate["failures"]] or ["<li>every threshold met</li>"]
        parts.append("</ul>")
    failing = [c for c in report["cases"] if not c["passed"]]
    passing = [c for c in report["cases"] if c["passed"]]
    parts.append(f"<h2>Failing cases ({len(failing)})</h2>")
    parts += [_case(case, open_=True) for case in failing] or ["<p>None.</p>"]
    parts.append(f"<h2>Passing cases ({len(passing)})</h2>")
    parts += [_case(case, open_=False) for case in passing]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _metrics_table(report: dict[str, Any]) -> str:
    deltas = {d["name"]: d for d in (report.get("baseline") or {}).get("metrics", [])}
    rows = ['<table><tr><th>metric</th><th class="num">value</th>'
            + ('<th class="num">Δ vs baseline</th>' if deltas else "") + "</tr>"]
    for name, value in report["metrics"].items():
        row = f'<tr><td>{escape(name)}</td><td class="num">{escape(format_value(name, value))}</td>'
        if deltas:
            delta = deltas.get(name, {})
            css = delta.get("direction", "")
            row += f'<td class="num {escape(css)}">{escape(format_delta(name, delta.get("delta")))}</td>'
        rows.append(row + "</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _chart(groups: dict[str, dict[str, Any]]) -> str:
    """Horizontal bars: accuracy per category (c@1 as the thin bar under it)."""
    if not groups:
        return ""
    label_w, bar_w, row_h = 180, 420, 30
    height = row_h * len(groups) + 24
    width = label_w + bar_w + 110
    out = [f'<svg width="{width}" height="{height}" role="img" '
           f'aria-label="accuracy per category" font-family="system-ui,sans-serif" font-size="13">']
    for x in (0, 0.5, 1):
        gx = label_w + bar_w * x
        out.append(f'<line x1="{gx}" y1="0" x2="{gx}" y2="{height - 18}" stroke="#dde"/>')
        out.append(f'<text x="{gx}" y="{height - 4}" text-anchor="middle" fill="#667">{int(x * 100)}%</text>')
    for i, (name, group) in enumerate(groups.items()):
        y = i * row_h + 4
        accuracy = group.get("accuracy") or 0.0
        c1 = group.get("c_at_1") or 0.0
        color = "#17803d" if accuracy >= 0.8 else "#d99a00" if accuracy >= 0.5 else "#b42318"
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(name)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * accuracy:.1f}" height="14" fill="{color}">'
                   f"<title>{escape(name)}: accuracy {accuracy:.3f}</title></rect>")
        out.append(f'<rect x="{label_w}" y="{y + 19}" width="{bar_w * c1:.1f}" height="4" fill="#5b6b8c">'
                   f"<title>{escape(name)}: c@1 {c1:.3f}</title></rect>")
        out.append(f'<text x="{label_w + bar_w + 8}" y="{y + 15}">{group["passed"]}/{group["cases"]} '
                   f"({accuracy * 100:.0f}%)</text>")
    out.append("</svg>")
    return "".join(out) + '<p class="muted">Bars: accuracy; thin bars: c@1.</p>'


def _groups_table(groups: dict[str, dict[str, Any]]) -> str:
    if not groups:
        return "<p>None.</p>"
    head = "".join(f'<th class="num">{escape(m)}</th>' for m in HEADLINE_METRICS)
    rows = [f'<table><tr><th></th><th class="num">cases</th><th class="num">passed</th>{head}</tr>']
    for name, group in groups.items():
        cells = "".join(f'<td class="num">{escape(format_value(m, group.get(m)))}</td>' for m in HEADLINE_METRICS)
        rows.append(f'<tr><td>{escape(name)}</td><td class="num">{group["cases"]}</td>'
                    f'<td class="num">{group["passed"]}</td>{cells}</tr>')
    rows.append("</table>")
    return "\n".join(rows)


def _baseline(baseline: dict[str, Any]) -> str:
    parts = [f"<h2>Compared with the baseline of {escape(str(baseline.get('baseline_run_at') or 'unknown date'))}</h2>",
             "<ul>"]
    labels = (("Newly failing", "newly_failing", "worse"), ("Newly passing", "newly_passing", "better"),
              ("New cases", "added", ""), ("Cases no longer in the suite", "removed", ""))
    for label, key, css in labels:
        ids = baseline.get(key) or []
        if ids:
            parts.append(f'<li class="{css}"><strong>{label}</strong> ({len(ids)}): '
                         + ", ".join(f"<code>{escape(i)}</code>" for i in ids) + "</li>")
    if not any(baseline.get(key) for _, key, _ in labels):
        parts.append("<li>No case changed outcome.</li>")
    parts.append("</ul>")
    return "\n".join(parts)


def _case(case: dict[str, Any], *, open_: bool) -> str:
    css = "pass" if case["passed"] else "fail"
    where = ", ".join(escape(x) for x in (case.get("category"), case.get("lang")) if x)
    parts = [f'<details class="{css}"{" open" if open_ else ""} id="case-{escape(case["id"])}">',
             f"<summary>{escape(case['id'])} <span class=\"muted\">({where}) · {case['latency_ms']:.0f} ms</span>"
             "</summary>"]
    if case["reasons"]:
        parts.append('<ul class="reasons">' + "".join(f"<li>{escape(r)}</li>" for r in case["reasons"]) + "</ul>")
    for turn in case["turns"]:
        parts.append(_turn(turn))
    parts.append("</details>")
    return "\n".join(parts)


def _turn(turn: dict[str, Any]) -> str:
    parts = ['<div class="turn">', f'<div class="msg">🧑 {escape(turn["message"])}</div>']
    reply = turn.get("reply")
    if reply is None:
        parts.append('<div class="reply muted">(no reply)</div></div>')
        return "\n".join(parts)
    parts.append(f'<div class="reply">{escape(str(reply.get("text") or ""))}</div>')
    tags = []
    if reply.get("grounded"):
        tags.append('<span class="tag grounded">grounded</span>')
    else:
        tags.append('<span class="tag">not grounded</span>')
    handoff = reply.get("handoff")
    if handoff:
        tags.append(f'<span class="tag handoff">handoff: {escape(str(handoff.get("reason", "")))}</span>')
    tags += [f'<span class="tag warn">{escape(str(w.get("kind")))}</span>' for w in reply.get("warnings") or []]
    parts.append(f'<div class="meta">{"".join(tags)} {turn.get("latency_ms", 0):.0f} ms</div>')
    citations = reply.get("citations") or []
    if citations:
        items = []
        for c in citations:
            bits = [f"<code>{escape(str(c.get('source_id')))}</code>", escape(str(c.get("title") or ""))]
            if c.get("url"):
                bits.append(f'<a href="{escape(str(c["url"]))}">{escape(str(c["url"]))}</a>')
            if c.get("updated_at"):
                bits.append(f"updated {escape(str(c['updated_at']))}")
            if c.get("stale"):
                bits.append('<span class="tag warn">stale</span>')
            items.append("<li>" + " · ".join(bits) + "</li>")
        parts.append('<div class="meta">Citations<ul>' + "".join(items) + "</ul></div>")
    warnings = reply.get("warnings") or []
    if warnings:
        items = [f"<li><strong>{escape(str(w.get('kind')))}</strong>: {escape(str(w.get('detail') or ''))}"
                 + (f" <span class=\"muted\">({escape(', '.join(map(str, w.get('sources') or [])))})</span>"
                    if w.get("sources") else "") + "</li>" for w in warnings]
        parts.append('<div class="meta">Warnings<ul>' + "".join(items) + "</ul></div>")
    if handoff and handoff.get("summary"):
        parts.append(f'<div class="meta">Handoff summary: {escape(str(handoff["summary"]))}</div>')
    parts.append("</div>")
    return "\n".join(parts)
