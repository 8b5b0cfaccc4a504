"""The FAQ source: CSV, JSON and YAML files, and the same over HTTP from a loopback server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from knowledge.errors import SourceError, SourceFormatError, SourceUnreachable
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources import FAQ_SOURCE, read_source_bytes
from knowledge.text import stable_key

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def manifest_with(tmp_path: Path, **source: object) -> tuple[SourceSpec, Manifest]:
    manifest = Manifest.model_validate(
        {"brand": "Ciclofficina", "language": "it", "sources": [{"id": "faq", "type": "faq", **source}],
         "root": tmp_path}
    )  # fmt: skip
    return manifest.sources[0], manifest


def load_file(tmp_path: Path, filename: str, content: str | bytes, **source: object):
    data = content.encode("utf-8") if isinstance(content, str) else content
    (tmp_path / filename).write_bytes(data)
    spec, manifest = manifest_with(tmp_path, path=filename, **source)
    return FAQ_SOURCE.load(spec, manifest, now=NOW)


@pytest.fixture
def served() -> Iterator[tuple[str, dict[str, tuple[str, bytes]]]]:
    """A real HTTP server on 127.0.0.1 answering from a dict of path → (content type, body)."""
    pages: dict[str, tuple[str, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path not in pages:
                self.send_error(404)
                return
            content_type, body = pages[self.path]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", pages
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_csv_rows_become_faq_documents(tmp_path):
    docs = load_file(
        tmp_path,
        "faq.csv",
        'question,answer\nDo you repair e-bikes?,"Yes, every day."\nCan I return a bike?,Within 30 days.\n',
    )
    assert [d.title for d in docs] == ["Do you repair e-bikes?", "Can I return a bike?"]
    first = docs[0]
    assert first.kind == "faq"
    assert first.source_type == "faq"
    assert first.text == "Do you repair e-bikes?\n\nYes, every day."
    assert first.data == {"faq": {"question": "Do you repair e-bikes?", "answer": "Yes, every day."}}
    assert first.language == "en"  # an English entry in an Italian brand's FAQ keeps its own language
    assert first.fetched_at == NOW
    assert first.updated_at is None
    assert first.updated_at_evidence == "none"
    assert first.url is None


def test_semicolon_delimiter_bom_and_italian_headers_are_understood(tmp_path):
    content = "\ufeffDomanda;Risposta;Aggiornato_il\nFate consegne?;Sì, in tutta Italia.;15/01/2025\n"
    docs = load_file(tmp_path, "faq.csv", content)
    assert docs[0].title == "Fate consegne?"
    assert docs[0].data["faq"]["answer"] == "Sì, in tutta Italia."


def test_a_naive_date_is_read_in_the_brand_timezone(tmp_path):
    docs = load_file(tmp_path, "faq.csv", "domanda;risposta;aggiornato_il\nQ?;A.;15/07/2025\n")
    assert docs[0].updated_at == datetime.fromisoformat("2025-07-15T00:00:00+02:00")
    assert docs[0].updated_at_evidence == "feed:updated_at"


def test_keys_stay_the_same_when_rows_are_reordered(tmp_path):
    first = load_file(tmp_path, "a.csv", "question,answer\nOne?,1\nTwo?,2\n")
    second = load_file(tmp_path, "b.csv", "question,answer\nTwo?,2\nOne?,1\n")
    assert {d.title: d.key for d in first} == {d.title: d.key for d in second}
    assert first[0].key != first[1].key


def test_relative_urls_resolve_against_the_base_url(tmp_path):
    docs = load_file(
        tmp_path,
        "faq.csv",
        "question,answer,url\nReturns?,30 days.,/aiuto/resi\nHours?,9-18.,https://other.example/x\n",
        base_url="https://www.shop.example/it/",
    )
    assert docs[0].url == "https://www.shop.example/aiuto/resi"
    assert docs[1].url == "https://other.example/x"


def test_a_relative_url_without_base_url_asks_for_one(tmp_path):
    with pytest.raises(SourceFormatError, match=r"faq.csv line 2: column 'url' .*add base_url"):
        load_file(tmp_path, "faq.csv", "question,answer,url\nReturns?,30 days.,/aiuto/resi\n")


def test_a_missing_column_is_named_with_the_columns_found(tmp_path):
    with pytest.raises(SourceFormatError) as error:
        load_file(tmp_path, "faq.csv", "question,reply\nQ?,A.\n")
    assert "faq.csv: missing required column 'answer' (found: question, reply)" in str(error.value)
    assert error.value.source_id == "faq"


def test_an_empty_answer_names_its_line(tmp_path):
    content = 'question,answer\nOne?,Yes.\n\n"Two,\nlines?",Yes.\nThree?,\n'
    with pytest.raises(SourceFormatError, match=r"faq.csv line 6: column 'answer' is empty"):
        load_file(tmp_path, "faq.csv", content)


def test_a_question_asked_twice_with_two_answers_gives_two_documents_that_know_each_other(tmp_path):
    docs = load_file(tmp_path, "faq.csv", "question,answer\nOpen on Sunday?,No.\nopen on  sunday?,Yes.\n")
    assert [d.data["faq"]["answer"] for d in docs] == ["No.", "Yes."]
    assert docs[0].key != docs[1].key
    assert {d.data["faq"]["line"] for d in docs} == {"faq.csv line 2", "faq.csv line 3"}
    assert docs[0].data["faq"]["same_question"] == docs[1].data["faq"]["same_question"]


def test_a_question_that_is_not_repeated_keeps_the_key_of_its_question(tmp_path):
    content = "question,answer\nOpen on Sunday?,No.\nopen on  sunday?,Yes.\nReturns?,30 days.\n"
    alone = load_file(tmp_path, "a.csv", "question,answer\nReturns?,30 days.\n")[0]
    returns = load_file(tmp_path, "b.csv", content)[2]
    assert returns.key == alone.key == stable_key("Returns?")
    assert returns.data == {"faq": {"question": "Returns?", "answer": "30 days."}}
    assert load_file(tmp_path, "c.csv", content)[0].data["faq"]["same_question"] == stable_key("Open on Sunday?")


def test_keys_of_a_repeated_question_survive_reordering_and_come_from_the_url_when_each_has_its_own(tmp_path):
    rows = [
        "Open on Sunday?,No.,/aiuto/#negozi-domenica",
        "Open on Sunday?,\"Yes, 10-13.\",/aiuto/#orari-domenica",
        "Returns?,30 days.,/aiuto/#resi",
    ]
    first = load_file(tmp_path, "a.csv", "question,answer,url\n" + "\n".join(rows) + "\n", base_url="https://x.example")
    second = load_file(
        tmp_path, "b.csv", "question,answer,url\n" + "\n".join(reversed(rows)) + "\n", base_url="https://x.example"
    )
    assert {d.url: d.key for d in first} == {d.url: d.key for d in second}
    # The URL tells the two entries apart, so an edited answer keeps its document.
    edited = load_file(
        tmp_path, "c.csv", "question,answer,url\n" + "\n".join(rows).replace("Yes, 10-13.", "Yes, 10-12.") + "\n",
        base_url="https://x.example",
    )
    assert {d.url: d.key for d in edited} == {d.url: d.key for d in first}


def test_repeated_questions_without_their_own_url_are_told_apart_by_the_answer(tmp_path):
    content = "question,answer,url\nOpen on Sunday?,No.,/aiuto/\nOpen on Sunday?,Yes.,/aiuto/\nOpen on Sunday?,Maybe.,\n"
    docs = load_file(tmp_path, "faq.csv", content, base_url="https://x.example")
    again = load_file(tmp_path, "b.csv", "question,answer,url\n" + "\n".join(reversed(content.splitlines()[1:])) + "\n",
                      base_url="https://x.example")
    assert len({d.key for d in docs}) == 3
    assert {d.data["faq"]["answer"]: d.key for d in docs} == {d.data["faq"]["answer"]: d.key for d in again}


def test_an_exact_copy_of_an_entry_is_kept_once_with_the_newest_date(tmp_path):
    content = (
        "question,answer,updated_at,url\nOpen on Sunday?,No.,2025-01-10,/a/#one\nReturns?,30 days.,,\n"
        "open on sunday?,  no.,2025-02-20,/b/#two\n"
    )
    docs = load_file(tmp_path, "faq.csv", content, base_url="https://x.example")
    assert [d.title for d in docs] == ["Open on Sunday?", "Returns?"]
    sunday = docs[0]
    assert sunday.key == stable_key("Open on Sunday?")
    assert sunday.url == "https://x.example/a/#one"
    assert sunday.updated_at == datetime.fromisoformat("2025-02-20T00:00:00+01:00")
    assert "same_question" not in sunday.data["faq"]


def test_a_bad_date_names_the_column_and_the_expected_form(tmp_path):
    with pytest.raises(SourceFormatError, match=r"line 2: column 'updated_at' is not a date .*YYYY-MM-DD"):
        load_file(tmp_path, "faq.csv", "question,answer,updated_at\nQ?,A.,yesterday\n")


def test_json_list_of_objects_is_read(tmp_path):
    content = '[{"question": "Spedite all\'estero?", "answer": "<p>Sì, in <b>UE</b>.</p>", "updated_at": "2025-02-01T10:00:00Z"}]'
    docs = load_file(tmp_path, "faq.json", content)
    assert docs[0].data["faq"]["answer"] == "Sì, in UE."
    assert docs[0].updated_at == datetime(2025, 2, 1, 10, 0, tzinfo=UTC)


def test_json_entry_without_answer_is_named_by_position(tmp_path):
    with pytest.raises(SourceFormatError, match=r"faq.json entry 2: field 'answer' is missing"):
        load_file(tmp_path, "faq.json", '[{"question": "A?", "answer": "a"}, {"question": "B?"}]')


def test_invalid_json_reports_line_and_column(tmp_path):
    with pytest.raises(SourceFormatError, match=r"faq.json: invalid JSON at line 2 column 1"):
        load_file(tmp_path, "faq.json", '[{"question": "A?", "answer": "a"}\n{}]')


def test_yaml_list_is_read_and_errors_name_the_line(tmp_path):
    content = "faq:\n  - question: Orari?\n    answer: 9-18\n    updated_at: 2025-01-10\n  - question: Resi?\n    answer: ''\n"
    with pytest.raises(SourceFormatError, match=r"faq.yaml line 5: field 'answer' is empty"):
        load_file(tmp_path, "faq.yaml", content)
    docs = load_file(tmp_path, "ok.yml", content.replace("''", "Entro 30 giorni"))
    assert [d.title for d in docs] == ["Orari?", "Resi?"]
    assert docs[0].updated_at == datetime.fromisoformat("2025-01-10T00:00:00+01:00")


def test_a_missing_file_says_where_relative_paths_resolve(tmp_path):
    spec, manifest = manifest_with(tmp_path, path="data/faq.csv")
    with pytest.raises(SourceError, match=r"file not found: .*data/faq.csv \(relative paths resolve against"):
        FAQ_SOURCE.load(spec, manifest, now=NOW)


def test_a_file_without_entries_fails(tmp_path):
    with pytest.raises(SourceFormatError, match="no FAQ entries found"):
        load_file(tmp_path, "faq.csv", "question,answer\n")


def test_a_url_source_is_fetched_and_its_format_told_by_content_type(tmp_path, served):
    base, pages = served
    pages["/export"] = (
        "application/json; charset=utf-8",
        b'[{"domanda": "Orari?", "risposta": "9-18", "url": "orari"}]',
    )
    spec, manifest = manifest_with(tmp_path, url=f"{base}/export")
    docs = FAQ_SOURCE.load(spec, manifest, now=NOW)
    assert docs[0].title == "Orari?"
    assert docs[0].url == f"{base}/orari"  # relative to the feed's own URL when there is no base_url
    assert read_source_bytes(spec, manifest)[1] == f"{base}/export"


def test_an_http_error_is_reported_as_unreachable(tmp_path, served):
    base, _ = served
    spec, manifest = manifest_with(tmp_path, url=f"{base}/missing.csv")
    with pytest.raises(SourceUnreachable, match=r"HTTP 404 .*check the url in the manifest"):
        FAQ_SOURCE.load(spec, manifest, now=NOW)


def test_a_closed_port_is_reported_as_unreachable(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec, manifest = manifest_with(tmp_path, url=f"http://127.0.0.1:{port}/faq.csv", timeout=2)
    with pytest.raises(
        SourceUnreachable, match=rf"cannot reach http://127.0.0.1:{port}/faq.csv: .*check the url"
    ):
        FAQ_SOURCE.load(spec, manifest, now=NOW)
