"""Structured logs: one event name per line followed by key=value fields.

Call sites pass fields with `extra={...}`; message bodies and key secrets are never among them.
"""

from __future__ import annotations

import logging
import sys

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def _value(value: object) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        head = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} level={record.levelname.lower()} logger={record.name}"
        line = " ".join(
            [head, f"event={_value(record.getMessage())}", *(f"{k}={_value(v)}" for k, v in fields.items())]
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


# Libraries whose INFO lines are not ours to publish: httpx logs every request URL (webhook and
# channel URLs carry tokens in their query strings), the others narrate internals. Set here, in
# what every uvicorn worker runs at start (`create_app_from_env`), not only in the CLI process.
QUIET_LIBRARIES = ("httpx", "httpcore", "alembic", "chromadb", "urllib3")


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would duplicate ours (and carries query strings).
    logging.getLogger("uvicorn.access").disabled = True
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
