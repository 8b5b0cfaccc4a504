"""Evals: run a suite of customer questions through the assistant and measure the answers.

Flow: `suite` (load cases) → `runner` (in-process or over HTTP) → `scoring` (pass/fail with
reasons) → `metrics` → `report` (JSON, Markdown, HTML) → `baseline` (diff) → `gate` (CI).
`retrieval` benchmarks the search modes on the same cases.  Never imports `api`.
"""
