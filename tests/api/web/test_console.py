"""The console and the chat over HTTP (no browser): sign-in, cookies, CSRF, roles, 409 messages,
the web key's reach, CSV export. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

from api.web.sessions import CHAT_COOKIE, CONSOLE_COOKIE
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    service_fixture,
)

CHAT = {"x-sportello-chat": "1"}


def _secret(service: Service, role: str, name: str | None = None) -> str:
    return service.key(role, name)["Authorization"].removeprefix("Bearer ")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def sign_in(service: Service, role: str, name: str | None = None) -> Any:
    client = service.client
    client.cookies.clear()
    form = client.get("/console/login")
    return client.post(
        "/console/login", data={"key": _secret(service, role, name), "csrf": _csrf(form.text)}, follow_redirects=False
    )


def test_signing_in_sets_an_http_only_same_site_strict_session_cookie(service: Service) -> None:
    response = sign_in(service, "operator")
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{CONSOLE_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert _secret(service, "operator") not in cookie


def test_a_page_asks_for_sign_in_without_a_session(service: Service) -> None:
    response = service.client.get("/console/", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/console/login")


def test_an_unknown_key_is_refused_on_the_sign_in_page(service: Service) -> None:
    form = service.client.get("/console/login")
    response = service.client.post("/console/login", data={"key": "sk_nope", "csrf": _csrf(form.text)})
    assert response.status_code == 401 and "unknown or revoked" in response.text


def test_a_channel_key_cannot_sign_in_to_the_console(service: Service) -> None:
    response = sign_in(service, "channel")
    assert response.status_code == 403 and "cannot sign in here" in response.text


def test_a_sign_in_form_without_its_csrf_token_is_refused(service: Service) -> None:
    service.client.get("/console/login")
    response = service.client.post("/console/login", data={"key": _secret(service, "operator"), "csrf": "forged"})
    assert response.status_code == 403 and CONSOLE_COOKIE not in response.headers.get("set-cookie", "")


def test_a_console_form_without_the_session_csrf_token_is_refused(service: Service) -> None:
    service.send("c1", "I want a person")
    handoff = service.client.get("/v1/conversations/c1", headers=service.key("channel")).json()["handoff"]["id"]
    sign_in(service, "operator")
    response = service.client.post(f"/console/handoffs/{handoff}/claim", data={"csrf": "forged"})
    assert response.status_code == 403
    assert service.client.get(f"/v1/handoffs/{handoff}", headers=service.key("operator")).json()["status"] == "open"


def test_signing_out_ends_the_session(service: Service) -> None:
    sign_in(service, "operator")
    page = service.client.get("/console/")
    service.client.post("/console/logout", data={"csrf": _csrf(page.text)})
    assert service.client.get("/console/", follow_redirects=False).status_code == 303


def test_a_revoked_key_ends_its_console_sessions(service: Service) -> None:
    sign_in(service, "operator")
    assert service.client.get("/console/").status_code == 200
    key_id = service.key_id("operator")
    assert service.client.delete(f"/v1/keys/{key_id}", headers=service.admin).status_code == 204
    assert service.client.get("/console/", follow_redirects=False).status_code == 303


def test_claiming_a_handoff_another_operator_holds_shows_a_409_message(service: Service) -> None:
    service.send("c1", "I want a person")
    handoff = service.client.get("/v1/conversations/c1", headers=service.key("channel")).json()["handoff"]["id"]
    assert service.client.post(f"/v1/handoffs/{handoff}/claim", headers=service.key("operator", "anna")).status_code == 200
    sign_in(service, "operator", "bruno")
    page = service.client.get(f"/console/handoffs/{handoff}")
    assert "Claimed by another operator" in page.text
    response = service.client.post(f"/console/handoffs/{handoff}/reply", data={"text": "hi", "csrf": _csrf(page.text)})
    assert response.status_code == 409
    assert 'role="alert"' in response.text and "claimed" in response.text


def test_pages_carry_a_content_security_policy_without_inline_scripts(service: Service) -> None:
    for path in ("/console/login", "/chat"):
        policy = service.client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy


def test_each_role_sees_only_its_pages(service: Service) -> None:
    sign_in(service, "content")
    assert service.client.get("/console/analytics").status_code == 403
    sign_in(service, "manager")
    assert service.client.get("/console/analytics").status_code == 200
    assert service.client.get("/console/knowledge").status_code == 403


def test_the_analytics_csv_has_the_figures_of_the_period(service: Service) -> None:
    service.send("c1", "I want a person")
    sign_in(service, "manager")
    response = service.client.get("/console/analytics.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert "handoffs_by_reason,human_requested,1" in response.text.splitlines()


# --- the web chat's key and cookie -----------------------------------------------------------------
def _chat_session(service: Service) -> str:
    service.client.cookies.clear()
    response = service.client.post(
        "/chat/api/session", json={"lang": "en"}, headers={**CHAT, "Authorization": f"Bearer {_secret(service, 'web')}"}
    )
    assert response.status_code == 200, response.text
    assert "HttpOnly" in response.headers["set-cookie"]
    return str(response.json()["conversation_id"])


def test_a_web_key_is_refused_by_the_json_api(service: Service) -> None:
    web = {"Authorization": f"Bearer {_secret(service, 'web')}"}
    body = {"text": "hello", "user_id": "u", "channel": "web"}
    assert service.client.post("/v1/conversations/x/messages", json=body, headers=web).status_code == 403
    assert service.client.get("/v1/conversations/x", headers=web).status_code == 403


def test_only_a_web_key_opens_a_chat_session(service: Service) -> None:
    response = service.client.post(
        "/chat/api/session", json={}, headers={**CHAT, "Authorization": f"Bearer {_secret(service, 'channel')}"}
    )
    assert response.status_code == 401


def test_a_chat_cookie_reaches_only_its_own_conversation(service: Service) -> None:
    first = _chat_session(service)
    service.client.post("/chat/api/messages", json={"text": "what are your hours?"}, headers=CHAT)
    mine = service.client.get("/chat/api/messages", headers=CHAT).json()["messages"]
    assert [m["role"] for m in mine] == ["customer", "bot"]
    second = _chat_session(service)  # another visitor
    assert second != first
    assert service.client.get("/chat/api/messages", headers=CHAT).json()["messages"] == []


def test_chat_requests_without_the_chat_header_are_refused(service: Service) -> None:
    _chat_session(service)
    assert service.client.post("/chat/api/messages", json={"text": "hi"}).status_code == 403
    service.client.cookies.delete(CHAT_COOKIE)


def test_the_chat_speaks_the_visitor_language_from_its_phrase_file(service: Service) -> None:
    page = service.client.get("/chat", params={"lang": "it"})
    assert 'lang="it"' in page.text and "Scrivi il tuo messaggio" in page.text
    assert "Write your message" in service.client.get("/chat", params={"lang": "xx"}).text
