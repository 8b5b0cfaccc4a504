"""The `sportello` command: the top of the project. Every command that prints data also has `--json`.

Exit codes: 0 ok, 1 the command ran and found problems (e.g. `doctor --strict`, an eval gate),
2 bad input (invalid manifest or setting, unreadable source, unreachable URL) with a message that
says what to fix.

The command modules import the project's packages inside each command, not at module top:
`sportello --help` must not load FastAPI, SQLAlchemy, alembic, Chroma or the embedding model
(before this layout it took 0.70 s, 32× a bare `python -c pass`; see ARCHITECTURE.md).
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from sportello.cli import channels, evals, knowledge, report, service
from sportello.cli.output import fail
from sportello.settings import Settings, SettingsError

__all__ = ["app"]

app = typer.Typer(help="Sportello: grounded, cited answers for a brand's customers.", no_args_is_help=True)

# Library chatter (HTTP requests per page, Chroma internals) drowns the progress bars. The server's
# workers quiet theirs in api.logs.configure_logging (not imported here: start-up cost).
QUIET_LIBRARIES = ("httpx", "httpcore", "alembic", "chromadb", "trafilatura", "urllib3", "htmldate", "courlan", "usp", "bm25s")


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs on stderr.")] = False) -> None:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise fail(str(exc)) from exc
    level = logging.DEBUG if verbose else getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)


app.command()(knowledge.sync)
app.command()(knowledge.search)
app.command()(knowledge.sources)
app.command()(knowledge.doctor)
app.command()(service.serve)
app.command()(report.report)
app.add_typer(service.keys_app, name="keys")
app.add_typer(service.retention_app, name="retention")
app.add_typer(service.secrets_app, name="secrets")
app.add_typer(evals.eval_app, name="eval")
app.add_typer(channels.channels_app, name="channels")
