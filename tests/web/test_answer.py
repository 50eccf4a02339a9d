"""The public answer page over HTTP: what it shows, what it records, and what it refuses."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.testclient import TestClient

from mailing import codes
from mailing.status import campaign_status
from mailing.store import Store, pieces, responses
from tests.web.conftest import ANSWER_PATH, CAMPAIGN


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "the page has no CSRF token"
    return m.group(1)


def answer(client: TestClient, code: str, *options: str, path: str | None = None):
    url = path or f"{ANSWER_PATH}/{code}"
    page = client.get(url)
    assert page.status_code == 200, page.text
    return client.post(url, data={"csrf_token": csrf_of(page.text), "option": list(options)})


def test_answer_page_shows_subject_greeting_and_options_but_no_address(client: TestClient, letters) -> None:
    letter = next(x for x in letters if x["street"] and x["last_name"])
    page = client.get(f"{ANSWER_PATH}/{letter['code']}")
    assert page.status_code == 200
    assert 'lang="de"' in page.text and 'name="viewport"' in page.text
    assert letter["last_name"] in page.text  # the greeting names the person
    assert letter["street"] not in page.text and letter["postal_code"] not in page.text
    assert page.text.count('type="checkbox"') == 3
    assert "Bitte rufen Sie mich an." in page.text


def test_answer_path_is_case_insensitive_and_takes_hyphens(client: TestClient, letters) -> None:
    code = letters[0]["code"]
    for url in (f"/R/{code}", f"{ANSWER_PATH}/{codes.format_code(code).lower()}", f"{ANSWER_PATH}/{code}/"):
        assert client.get(url).status_code == 200, url


def test_answer_recorded_with_channel_online(client: TestClient, web_store: Store, letters) -> None:
    code = letters[0]["code"]
    res = answer(client, code, "info")
    assert res.status_code == 200 and "Vielen Dank" in res.text
    with web_store.connect() as conn:
        row = conn.execute(select(responses.c.source).join(pieces, pieces.c.id == responses.c.piece_id)
                           .where(pieces.c.code == code)).one()
    assert row.source == "online"
    st = campaign_status(web_store, CAMPAIGN)
    assert st["responses"] == 1 and st["responses_by_channel"]["online"] == 1 and st["options"]["info"] == 1
