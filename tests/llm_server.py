"""A real OpenAI-compatible chat endpoint on loopback whose behaviour each test scripts.

The server reads the numbered passages from the prompt like a model would and answers
according to `script.mode`; it records every request so tests can read what the model saw.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class Script:
    mode: str = "quote"  # quote | hallucinate | bad_citation | no_answer | error | hang | literal
    literal: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


_PASSAGE = re.compile(r"^\[(\d+)\] [^\n]*\n(.+?)(?=\n\n\[\d+\] |\n\nCUSTOMER MESSAGE:|\Z)", re.S | re.M)


def _first_sentence(prompt: str) -> tuple[int, str]:
    match = _PASSAGE.search(prompt)
    if not match:
        return 1, ""
    body = match.group(2).strip().splitlines()[0]
    return int(match.group(1)), re.split(r"(?<=[.!?])\s", body)[0]


def create_llm_app(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        body = await request.json()
        script.requests.append(body)
        prompt = body["messages"][-1]["content"]
        if script.mode == "error":
            return JSONResponse({"error": {"message": "overloaded", "type": "server_error"}}, status_code=500)
        if script.mode == "hang":
            while not script.release.is_set():  # held until the test releases it at teardown
                await _yield()
        number, sentence = _first_sentence(prompt)
        content = {
            "quote": f"{sentence} [{number}]",
            "hallucinate": f"{sentence} Il prezzo è 987,65 euro. [{number}]",
            "bad_citation": f"{sentence} [42]",
            "no_answer": "NO_ANSWER",
            "literal": script.literal,
        }.get(script.mode, sentence)
        return JSONResponse({
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })

    return app


async def _yield() -> None:
    import asyncio

    await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Run an ASGI app with uvicorn on an ephemeral loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("test server failed to start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
