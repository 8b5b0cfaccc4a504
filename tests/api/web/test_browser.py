"""The pages in a real Chromium: an operator works a handoff live against the web chat on a
brand's page, a content user runs a sync, a manager reads the figures the test produced, the chat
works on a 360 px phone with the keyboard alone, and customer text is shown as text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from api.app import create_app
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    EchoKnowledgeAssistant,
    embedding_url_fixture,
    make_settings,
    running_server,
)
from tests.api.web.conftest import WAIT, leave_pages, screenshot
from tests.sites import serve_site

FAQ = """question,answer,updated_at,url
Quanto costa la spedizione?,"La spedizione standard costa 6,90 euro.",2026-11-03,/faq/#spedizioni
"""


class Live:
    """The app under uvicorn on loopback, with keys made through the API."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=WAIT)

    def key(self, role: str, name: str | None = None) -> str:
        created = self.http.post("/v1/keys", json={"role": role, "name": name or role})
        assert created.status_code == 201, created.text
        return str(created.json()["key"])

    def send(self, conversation: str, text: str, channel_key: str) -> dict[str, Any]:
        response = self.http.post(
            f"/v1/conversations/{conversation}/messages",
            json={"text": text, "user_id": conversation, "channel": "whatsapp"},
            headers={"Authorization": f"Bearer {channel_key}"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def serve(tmp_path: Path, page: Any) -> Iterator[Callable[..., Live]]:
    with ExitStack() as stack:

        def start(**overrides: Any) -> Live:
            settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}", **overrides)
            app = create_app(settings, assistant=EchoKnowledgeAssistant())
            live = Live(stack.enter_context(running_server(app)))
            stack.callback(live.http.close)
            # Runs first: the pages leave (closing their event streams) before the server stops.
            stack.callback(leave_pages, page)
            return live

        yield start


def wait(driver: Any) -> WebDriverWait:
    # A live region or a redirect may replace the node between finding it and reading it: retry.
    return WebDriverWait(driver, WAIT, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException,
                                                           WebDriverException))


def sign_in(driver: Any, live: Live, key: str) -> None:
    driver.get(f"{live.base}/console/login")
    field = driver.find_element(By.ID, "key")
    field.send_keys(key)
    field.send_keys(Keys.ENTER)
    wait(driver).until(lambda d: "/console/login" not in d.current_url)


def chat_messages(driver: Any) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, "#messages li.msg")


def type_in_chat(driver: Any, text: str) -> None:
    before = len(chat_messages(driver))
    box = wait(driver).until(ec.element_to_be_clickable((By.ID, "text")))
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    wait(driver).until(lambda d: len(chat_messages(d)) > before)


def test_an_operator_sees_a_handoff_live_claims_it_replies_and_the_web_chat_shows_the_reply(
    page: Any, serve: Callable[..., Live]
) -> None:
    live = serve()
    operator_key, web_key = live.key("operator"), live.key("web")
    sign_in(page, live, operator_key)
    assert page.find_element(By.CSS_SELECTOR, "#queue-rows tr.empty")
    console = page.current_window_handle

    with serve_site({}) as site:  # the brand's own page, embedding the chat with one tag
        site.set("/", f'<html lang="en"><body><h1>Brand</h1><script src="{live.base}/widget.js" '
                      f'data-key="{web_key}" data-lang="en" async></script></body></html>')
        page.switch_to.new_window("tab")
        page.get(site.url("/"))
        wait(page).until(ec.element_to_be_clickable((By.ID, "sportello-chat-button"))).click()
        page.switch_to.frame(page.find_element(By.ID, "sportello-chat-frame"))
        type_in_chat(page, "I want to talk to a person")
        state = wait(page).until(ec.visibility_of_element_located((By.ID, "state")))
        assert "A person from our team will answer here." in state.text
        screenshot(page, "chat-desktop-handed-off")
        chat = page.current_window_handle

        page.switch_to.window(console)
        row = wait(page).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#queue-rows tr.handoff")))
        assert "human_requested" in row.text and "web" in row.text
        screenshot(page, "console-queue")
        row.find_element(By.TAG_NAME, "a").click()
        wait(page).until(ec.element_to_be_clickable((By.ID, "claim"))).click()
        reply = wait(page).until(ec.element_to_be_clickable((By.ID, "reply-text")))
        reply.send_keys("Hello, this is Giulia from the team.")
        page.find_element(By.ID, "send-reply").click()
        wait(page).until(lambda d: "Hello, this is Giulia" in d.find_element(By.ID, "transcript").text)
        screenshot(page, "console-conversation")

        page.switch_to.window(chat)
        page.switch_to.frame(page.find_element(By.ID, "sportello-chat-frame"))
        operator = wait(page).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#messages li.msg.operator")))
        assert "Hello, this is Giulia from the team." in operator.text
        assert "with you" in page.find_element(By.ID, "state").text
        screenshot(page, "chat-desktop-operator-reply")


def test_a_customer_message_containing_a_script_is_shown_as_text(page: Any, serve: Callable[..., Live]) -> None:
    live = serve()
    web_key, operator_key = live.key("web"), live.key("operator")
    hostile = '<script>window.pwned = 1</script><img src=x onerror="window.pwned=2"> a person please'
    page.get(f"{live.base}/chat?lang=en#key={web_key}")
    type_in_chat(page, hostile)
    customer = chat_messages(page)[0]
    assert customer.find_element(By.CSS_SELECTOR, ".text").text == hostile
    assert page.find_elements(By.CSS_SELECTOR, "#messages img") == []
    assert page.execute_script("return window.pwned === undefined")

    page.switch_to.new_window("tab")
    sign_in(page, live, operator_key)
    row = wait(page).until(ec.presence_of_element_located((By.CSS_SELECTOR, "#queue-rows tr.handoff a")))
    row.click()
    transcript = wait(page).until(ec.presence_of_element_located((By.ID, "transcript")))
    assert hostile in transcript.text
    assert page.find_elements(By.CSS_SELECTOR, "#transcript img") == []
    assert page.execute_script("return window.pwned === undefined")


def test_the_chat_works_on_a_360_px_screen_with_the_keyboard_alone(page: Any, serve: Callable[..., Live]) -> None:
    live = serve()
    web_key = live.key("web")
    page.set_window_size(360, 740)
    page.get(f"{live.base}/chat?lang=en#key={web_key}")
    wait(page).until(lambda d: d.switch_to.active_element.get_attribute("id") == "text")
    assert "key=" not in page.current_url  # the key left the address bar
    page.switch_to.active_element.send_keys("How do returns work?", Keys.ENTER)
    wait(page).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#messages li.msg.bot")) == 1)
    bot = page.find_element(By.CSS_SELECTOR, "#messages li.msg.bot")
    link = bot.find_element(By.CSS_SELECTOR, ".cites a")
    assert link.get_attribute("href") == "https://brand.test/faq#resi"
    assert "updated 2025-01-10" in bot.find_element(By.CSS_SELECTOR, ".cites").text
    assert "over a year ago" in bot.find_element(By.CSS_SELECTOR, ".warning").text
    width = page.execute_script("return document.documentElement.clientWidth")
    assert page.execute_script("return document.documentElement.scrollWidth") <= width
    # Tab from the message box reaches the send button, and the cited link is reachable too.
    page.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
    assert page.switch_to.active_element.tag_name == "a"
    screenshot(page, "chat-360px")


def test_a_content_user_starts_a_sync_and_sees_it_finish(
    page: Any, serve: Callable[..., Live], tmp_path: Path, embedding_url: str
) -> None:
    brand = tmp_path / "brand"
    brand.mkdir()
    (brand / "faq.csv").write_text(FAQ, encoding="utf-8")
    manifest = brand / "sources.yaml"
    manifest.write_text(
        "brand: Test Brand\nlanguage: it\nsources:\n"
        "  - id: faq\n    type: faq\n    path: faq.csv\n    base_url: https://brand.test\n",
        encoding="utf-8",
    )
    live = serve(manifest=manifest, embedding_base_url=embedding_url)
    sign_in(page, live, live.key("content"))
    assert "never synced" in page.find_element(By.CSS_SELECTOR, "tr[data-source=faq]").text
    page.find_element(By.CSS_SELECTOR, "button[data-sync=faq]").click()
    progress = wait(page).until(ec.presence_of_element_located((By.ID, "sync-progress")))
    wait(page).until(lambda d: "succeeded" in progress.text)
    screenshot(page, "knowledge-sync-finished")
    page.find_element(By.CSS_SELECTOR, "#sync-progress a").click()
    row = wait(page).until(ec.presence_of_element_located((By.CSS_SELECTOR, "tr[data-source=faq]")))
    assert " ok " in f" {row.text} " and "1" in row.find_element(By.CSS_SELECTOR, "td.num").text
    screenshot(page, "knowledge")


def test_the_analytics_page_shows_the_numbers_the_test_produced(page: Any, serve: Callable[..., Live]) -> None:
    live = serve()
    channel = live.key("channel")
    live.send("c1", "a person please", channel)
    live.send("c2", "I want a human", channel)
    live.send("c3", "do you deliver to mars?", channel)
    live.send("c4", "what are your opening hours?", channel)
    sign_in(page, live, live.key("manager"))
    assert page.current_url.endswith("/console/analytics")
    assert page.find_element(By.ID, "conversations").text == "4"
    assert page.find_element(By.ID, "handoffs-total").text == "3"
    assert page.find_element(By.CSS_SELECTOR, "[data-reason=human_requested]").text == "2"
    assert page.find_element(By.CSS_SELECTOR, "[data-reason=no_answer]").text == "1"
    assert page.find_element(By.ID, "contained-rate").text == "25%"
    assert page.find_elements(By.CSS_SELECTOR, "svg.chart rect")
    screenshot(page, "analytics")
