"""`sportello report`: the care analytics of a period from the service's database, as a table,
JSON and one self-contained HTML file."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from sportello.cli import app
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    EchoKnowledgeAssistant,
    embedding_url_fixture,
    make_settings,
)


def _conversations(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None)
    with TestClient(create_app(settings, assistant=EchoKnowledgeAssistant())) as client:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        key = client.post("/v1/keys", json={"role": "channel", "name": "c"}, headers=admin).json()["key"]
        for conversation, text in (("c1", "I want a person"), ("c2", "a human please"), ("c3", "your hours?")):
            response = client.post(
                f"/v1/conversations/{conversation}/messages",
                json={"text": text, "user_id": conversation, "channel": "web"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert response.status_code == 200


def test_report_writes_the_period_figures_as_json_and_one_html_file(tmp_path: Path, embedding_url: str) -> None:
    _conversations(tmp_path)
    env = {"SPORTELLO_DATA_DIR": str(tmp_path / "data"), "SPORTELLO_EMBEDDING_BASE_URL": embedding_url}
    html = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--since", "2020-01-01", "--html", str(html), "--json"], env=env)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["conversations"] == 3
    assert figures["handoffs"]["by_reason"] == {"human_requested": 2}
    page = html.read_text(encoding="utf-8")
    assert '<td class="num" data-reason="human_requested">2</td>' in page
    assert "<script" not in page and "/static/" not in page


def test_report_refuses_a_date_it_cannot_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "--since", "last week"], env={"SPORTELLO_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 2 and "not an ISO date" in result.output
