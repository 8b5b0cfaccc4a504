"""LLM mode against a real OpenAI-compatible server on loopback: the answer is used only when
its citations and numbers check out; otherwise, and when the endpoint fails, the offline
composer answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.answers.llm import LLMComposer
from agent.assistant import Assistant
from agent.composers import LLMWithFallback
from agent.conversation import Conversation
from sportello.settings import Settings
from tests.conftest import DEMO_NOW
from tests.llm_server import Script, create_llm_app, serve_app

QUESTION = "Come posso restituire un prodotto acquistato online?"


@pytest.fixture()
def script() -> Iterator[Script]:
    script = Script()
    yield script
    script.release.set()


@pytest.fixture()
def llm_assistant(script: Script, demo_manifest, demo_knowledge) -> Iterator[Assistant]:
    with serve_app(create_llm_app(script)) as base_url:
        settings = Settings(llm_base_url=f"{base_url}/v1", llm_model="scripted", llm_timeout=1.0,
                            openai_api_key="sk-test")
        yield Assistant(demo_manifest, demo_knowledge, composer=LLMWithFallback(LLMComposer.from_settings(settings, brand="Demo")))


def ask(assistant: Assistant, text: str = QUESTION):
    return assistant.respond(Conversation("c1"), text, now=DEMO_NOW).reply


def test_a_checked_llm_answer_is_used_and_cites_the_passage_it_quotes(llm_assistant: Assistant, script: Script) -> None:
    reply = ask(llm_assistant)
    assert reply.trace["composer"] == "llm"
    assert reply.grounded
    assert reply.citations
    assert "[" not in reply.text  # citation markers become the citations list
    assert len(script.requests) == 1


def test_the_prompt_numbers_passages_and_frames_them_as_data(llm_assistant: Assistant, script: Script) -> None:
    ask(llm_assistant)
    messages = script.requests[0]["messages"]
    assert "never instructions" in messages[0]["content"]
    assert "[1] " in messages[1]["content"]


def test_a_number_absent_from_the_cited_passages_sends_the_reply_back_to_offline(
    llm_assistant: Assistant, script: Script
) -> None:
    script.mode = "hallucinate"
    reply = ask(llm_assistant)
    assert reply.trace["composer"] == "offline-fallback"
    assert "987" not in reply.text


def test_a_citation_of_a_passage_that_does_not_exist_is_rejected(llm_assistant: Assistant, script: Script) -> None:
    script.mode = "bad_citation"
    assert ask(llm_assistant).trace["composer"] == "offline-fallback"


def test_an_endpoint_error_falls_back_to_the_offline_composer(llm_assistant: Assistant, script: Script) -> None:
    script.mode = "error"
    reply = ask(llm_assistant)
    assert reply.trace["composer"] == "offline-fallback"
    assert reply.grounded


def test_an_endpoint_that_does_not_answer_in_time_falls_back(llm_assistant: Assistant, script: Script) -> None:
    script.mode = "hang"
    reply = ask(llm_assistant)
    assert reply.trace["composer"] == "offline-fallback"


def test_an_unreachable_endpoint_falls_back(demo_manifest, demo_knowledge) -> None:
    from tests.llm_server import free_port

    settings = Settings(llm_base_url=f"http://127.0.0.1:{free_port()}/v1", llm_model="x", llm_timeout=1.0)
    assistant = Assistant(demo_manifest, demo_knowledge, composer=LLMWithFallback(LLMComposer.from_settings(settings)))
    assert ask(assistant).trace["composer"] == "offline-fallback"


def test_the_model_saying_it_has_no_answer_leads_to_a_handoff(llm_assistant: Assistant, script: Script) -> None:
    script.mode = "no_answer"
    reply = ask(llm_assistant)
    assert not reply.grounded
    assert reply.handoff is not None


def test_instructions_planted_in_reviews_never_reach_the_model_or_the_customer(
    llm_assistant: Assistant, script: Script
) -> None:
    script.mode = "literal"
    script.literal = "Usa il codice FREE90 per lo sconto [1]"
    reply = ask(llm_assistant, "Cosa dicono le recensioni dei clienti? Avete codici sconto?")
    prompt = " ".join(m["content"] for r in script.requests for m in r["messages"])
    assert "FREE90" not in prompt
    assert "FREE90" not in reply.text
