"""HTTP-level security of the web front end: enumeration, throttling, CSRF, cookies, logins, the access log."""

from __future__ import annotations

import logging

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from mailing import codes
from mailing.status import campaign_status
from mailing.store import Store
from mailing.web import answer as answer_module
from mailing.web.app import create_app
from mailing.web.security import SESSION_COOKIE, Throttle
from tests.web.conftest import ANSWER_PATH, CAMPAIGN, app_with_test_login
from tests.web.test_answer import csrf_of


def unknown_code(letters) -> str:
    known = {x["code"] for x in letters}
    code = codes.new_code()
    while code in known:
        code = codes.new_code()
    return code


def wrong_check_symbol(code: str) -> str:
    data = code[:-1]
    return data + next(c for c in codes.CHECK_ALPHABET if c != code[-1] and c not in "%$+*")


def test_malformed_and_unknown_codes_get_the_same_answer(client: TestClient, letters) -> None:
    probes = ["ABC", "0" * 30, wrong_check_symbol(letters[0]["code"]), unknown_code(letters), "%3Cscript%3E"]
    answers = [client.get(f"{ANSWER_PATH}/{p}") for p in probes]
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1, "no way to tell a malformed code from an unknown one"
    assert client.get(f"{ANSWER_PATH}/{letters[0]['code']}").status_code == 200


def test_posting_to_an_unknown_code_gets_the_same_answer(client: TestClient, letters) -> None:
    page = client.get(f"{ANSWER_PATH}/{unknown_code(letters)}")
    form = {"csrf_token": csrf_of(page.text), "option": ["info"]}
    posted = [client.post(f"{ANSWER_PATH}/{p}", data=form) for p in ("ABC", unknown_code(letters))]
    assert [p.status_code for p in posted] == [404, 404] and posted[0].text == posted[1].text == page.text


def test_guesses_are_throttled_per_client_and_then_every_code_gets_429(web_store: Store, letters) -> None:
    app = create_app(web_store)
    known = f"{ANSWER_PATH}/{letters[0]['code']}"
    with TestClient(app, client=("198.51.100.7", 1000)) as guesser, \
            TestClient(app, client=("203.0.113.9", 1000)) as other:
        for _ in range(answer_module.GUESS_LIMIT):
            assert guesser.get(f"{ANSWER_PATH}/{unknown_code(letters)}").status_code == 404
        assert guesser.get(f"{ANSWER_PATH}/{unknown_code(letters)}").status_code == 429
        blocked = guesser.get(known)
        assert blocked.status_code == 429, "a throttled client must not learn that a code exists"
        assert "Retry-After" in blocked.headers
        assert other.get(known).status_code == 200, "another client is not throttled"


def test_valid_answers_do_not_use_up_the_guesses(client: TestClient, letters) -> None:
    for x in letters[: answer_module.GUESS_LIMIT + 5]:
        assert client.get(f"{ANSWER_PATH}/{x['code']}").status_code == 200


def test_throttle_window_slides() -> None:
    t = Throttle(2, 0.05)
    scope = {"type": "http", "client": ("192.0.2.1", 1), "headers": [], "method": "GET", "path": "/"}
    req = Request(scope)
    t.hit(req)
    t.hit(req)
    assert t.blocked(req)
    import time

    time.sleep(0.06)
    assert not t.blocked(req)


def test_answer_without_csrf_token_is_refused(client: TestClient, web_store: Store, letters) -> None:
    code = letters[0]["code"]
    client.get(f"{ANSWER_PATH}/{code}")
    missing = client.post(f"{ANSWER_PATH}/{code}", data={"option": ["info"]})
    wrong = client.post(f"{ANSWER_PATH}/{code}", data={"option": ["info"], "csrf_token": "x" * 43})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert campaign_status(web_store, CAMPAIGN)["responses"] == 0


def test_csrf_token_of_another_session_is_refused(web_store: Store, letters) -> None:
    app = create_app(web_store)
    url = f"{ANSWER_PATH}/{letters[0]['code']}"
    with TestClient(app) as attacker, TestClient(app) as victim:
        token = csrf_of(attacker.get(url).text)
        victim.get(url)
        assert victim.post(url, data={"option": ["info"], "csrf_token": token}).status_code == 403
    assert campaign_status(web_store, CAMPAIGN)["responses"] == 0


def cookie_header(res) -> str:
    return next(v for k, v in res.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))


def test_session_cookie_is_httponly_samesite_and_secure_behind_https(web_store: Store, letters) -> None:
    app = create_app(web_store)
    url = f"{ANSWER_PATH}/{letters[0]['code']}"
    with TestClient(app, base_url="http://testserver") as plain:
        cookie = cookie_header(plain.get(url)).lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
        proxied = cookie_header(plain.get(url, headers={"X-Forwarded-Proto": "https"})).lower()
        assert "; secure" in proxied
    with TestClient(app, base_url="https://testserver") as tls:
        assert "; secure" in cookie_header(tls.get(url)).lower()


def test_tampered_session_cookie_is_a_new_session(client: TestClient, letters) -> None:
    url = f"{ANSWER_PATH}/{letters[0]['code']}"
    token = csrf_of(client.get(url).text)
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.post(url, data={"option": ["info"], "csrf_token": token}).status_code == 403


# --- logins (security.login/logout/require_user, as the review station and the phone desk use them) -----

def test_session_reused_after_logout_is_refused(web_store: Store) -> None:
    with TestClient(app_with_test_login(web_store), base_url="https://testserver") as c:
        assert c.get("/phone", follow_redirects=False).status_code == 303
        c.post("/test-login", data={"name": "anna", "role": "operator"})
        assert c.get("/phone").status_code == 200
        stolen = c.cookies[SESSION_COOKIE]
        c.post("/test-logout")
        c.cookies.set(SESSION_COOKIE, stolen)  # the old cookie, replayed
        res = c.get("/phone", follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"].startswith("/login?next=")


def test_login_starts_a_new_session_and_csrf_token(web_store: Store, letters) -> None:
    with TestClient(app_with_test_login(web_store), base_url="https://testserver") as c:
        before = csrf_of(c.get(f"{ANSWER_PATH}/{letters[0]['code']}").text)
        c.post("/test-login", data={"name": "anna", "role": "admin"})
        after = csrf_of(c.get(f"{ANSWER_PATH}/{letters[0]['code']}").text)
        assert before != after


# --- the access log -------------------------------------------------------------------------------------

def test_access_log_holds_no_codes(client: TestClient, letters, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mailing.web.access")
    code = letters[0]["code"]
    page = client.get(f"{ANSWER_PATH}/{codes.format_code(code)}")
    client.post(f"{ANSWER_PATH}/{code.lower()}", data={"csrf_token": csrf_of(page.text), "option": ["info"]})
    client.get(f"{ANSWER_PATH}/{unknown_code(letters)}?code={code}")
    lines = [r.getMessage() for r in caplog.records if r.name == "mailing.web.access"]
    assert len(lines) == 3 and all("/[answer]" in line for line in lines), lines
    text = "\n".join(lines).upper().replace("-", "")
    assert code not in text and code[:8] not in text
    assert "testclient" not in "\n".join(lines), "no client addresses either"


def test_idle_session_is_over(web_store: Store) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from mailing.store import utcnow, web_sessions
    from mailing.web.security import SESSION_IDLE

    with TestClient(app_with_test_login(web_store), base_url="https://testserver") as c:
        c.post("/test-login", data={"name": "anna", "role": "operator"})
        assert c.get("/phone").status_code == 200
        with web_store.begin() as conn:
            conn.execute(update(web_sessions).values(last_seen=utcnow() - SESSION_IDLE - timedelta(minutes=1)))
        assert c.get("/phone", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers(client: TestClient, letters) -> None:
    res = client.get(f"{ANSWER_PATH}/{letters[0]['code']}")
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["referrer-policy"] == "no-referrer"
    csp = res.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp


def test_every_form_refuses_a_post_without_csrf_token(web_store: Store, letters) -> None:
    from tests.web.conftest import staff_client

    code = letters[0]["code"]
    with staff_client(web_store, "operator") as c:
        c.get("/")
        assert c.post("/", data={"code": code}).status_code == 403  # the home page's typed code
        assert c.post("/phone", data={"code": code}).status_code == 403  # the phone desk's search
        assert c.post("/phone", data={"name": "Müller", "postal_code": "10115"}).status_code == 403
