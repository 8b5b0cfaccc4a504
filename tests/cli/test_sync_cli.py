"""`sportello sync` exit codes: 0 when every page was read, 1 when some failed (partial), 2 when the
source could not be read at all."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sportello.cli import app
from tests.api.conftest_api import embedding_url_fixture  # noqa: F401 (fixture, used by name)
from tests.sites import closed_port_url, serve_site

PAGE = "<html lang='it'><head><title>{0}</title></head><body><main><h1>{0}</h1><p>{1}</p>{2}</main></body></html>"
SITE = {
    "/": PAGE.format("Home", "Benvenuti nel negozio di biciclette.", "<a href='/resi/'>Resi</a> <a href='/orari/'>Orari</a>"),
    "/resi/": PAGE.format("Resi", "Hai 30 giorni per restituire un prodotto.", ""),
    "/orari/": PAGE.format("Orari", "Siamo aperti dal lunedì al sabato.", ""),
}


def _sync(tmp_path: Path, url: str, embedding_url: str, *args: str):  # noqa: ANN202 - click.testing.Result
    manifest = tmp_path / "sources.yaml"
    manifest.write_text(
        f"brand: Test Brand\nlanguage: it\nsources:\n  - id: site\n    type: website\n    url: {url}\n    timeout: 2\n",
        encoding="utf-8",
    )
    env = {
        "SPORTELLO_DATA_DIR": str(tmp_path / "data"),
        "SPORTELLO_EMBEDDING_BASE_URL": embedding_url,
        "SPORTELLO_MANIFEST": None,
        "COLUMNS": "240",
    }
    return CliRunner().invoke(app, ["sync", str(manifest), *args], env=env)


def test_a_sync_that_read_every_page_exits_0(tmp_path: Path, embedding_url: str) -> None:
    with serve_site(SITE) as site:
        result = _sync(tmp_path, site.url("/"), embedding_url, "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "ok"


def test_a_sync_where_some_pages_failed_exits_1_and_lists_them(tmp_path: Path, embedding_url: str) -> None:
    with serve_site(SITE) as site:
        site.fail("/resi/", 403, times=100)
        result = _sync(tmp_path, site.url("/"), embedding_url, "--json")

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "partial"
    assert report["sources"][0]["failed_pages"] == [{"url": site.url("/resi/"), "error": "HTTP 403"}]


def test_a_sync_that_cannot_reach_the_site_exits_2(tmp_path: Path, embedding_url: str) -> None:
    result = _sync(tmp_path, closed_port_url(), embedding_url)

    assert result.exit_code == 2, result.output


def test_a_sync_that_changed_the_index_publishes_a_new_generation_for_running_workers(
    tmp_path: Path, embedding_url: str
) -> None:
    from api import Database
    from api.index_generation import published_generation
    from sportello.settings import Settings

    with serve_site(SITE) as site:
        first = _sync(tmp_path, site.url("/"), embedding_url, "--json")
        unchanged = _sync(tmp_path, site.url("/"), embedding_url, "--json")
    db = Database(Settings(data_dir=tmp_path / "data").effective_database_url)
    try:
        with db.session() as session:
            generation = published_generation(session)
    finally:
        db.dispose()

    assert (first.exit_code, unchanged.exit_code) == (0, 0)
    assert generation == 1  # the second sync changed nothing: no new generation
