"""Fixtures for the web tests: a produced campaign whose coupon carries a response URL, an app over it.

The campaign is made once per test session with the real commands (init, campaign add, import, produce)
and its store file copied for each test, so every test starts from the same sent wave of 50 letters.
The review station's tests use `queue`: planned letters, open review items from real scans and two users.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from station_queue import Queue, copy_queue, make_queue

from mailing.cli import main
from mailing.store import Store, pieces, recipients
from mailing.web.app import create_app
from mailing.web.security import login, logout

CAMPAIGN = "fruehjahr-2026"
RESPONSE_URL = "https://gartenwelt-schneider.de/r"
ANSWER_PATH = "/r"


def run_cli(db: Path, *args: object) -> None:
    code = main(["--db", str(db), *map(str, args)])
    assert code == 0, f"mailing {' '.join(map(str, args))} failed"


@pytest.fixture(scope="session")
def produced_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("web-campaign")
    db = tmp / "m.db"
    run_cli(db, "init", tmp / "c")
    toml = tmp / "c" / "campaign.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace(f'# response_url = "{RESPONSE_URL}"', f'response_url = "{RESPONSE_URL}"', 1)
    assert f'\nresponse_url = "{RESPONSE_URL}"' in text
    toml.write_text(text, encoding="utf-8")
    run_cli(db, "campaign", "add", toml)
    run_cli(db, "import", CAMPAIGN, tmp / "c" / "recipients.csv")
    run_cli(db, "produce", CAMPAIGN, "--out", tmp / "print", "--jobs", "1", "--drop-date", "2026-03-02")
    return db


@pytest.fixture
def web_db(produced_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "web.db"
    for suffix in ("", "-wal", "-shm"):
        src = produced_db.with_name(produced_db.name + suffix)
        if src.exists():
            shutil.copyfile(src, db.with_name(db.name + suffix))
    return db


@pytest.fixture
def web_store(web_db: Path) -> Iterator[Store]:
    store = Store.open(str(web_db))
    yield store
    store.dispose()


@pytest.fixture
def client(web_store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(web_store), base_url="https://testserver") as c:
        yield c


@pytest.fixture
def letters(web_store: Store) -> list[dict[str, str]]:
    """The sent letters: code (normalised), customer id, names, postal code; in wave order."""
    with web_store.connect() as conn:
        rows = conn.execute(select(pieces.c.code, recipients.c.customer_id, recipients.c.first_name,
                                   recipients.c.last_name, recipients.c.company, recipients.c.postal_code,
                                   recipients.c.street)
                            .join(recipients, recipients.c.id == pieces.c.recipient_id)
                            .where(pieces.c.control.is_(False)).order_by(pieces.c.seq)).all()
    return [dict(r._mapping) for r in rows]


def app_with_test_login(store: Store) -> Starlette:
    """The application plus POST /test-login (name, role) and POST /test-logout: log in and out through
    `security.login`/`logout` without a password, so these tests do not depend on how the review station
    keeps its users."""
    async def test_login(request: Request) -> Response:
        form = await request.form()
        login(request, str(form["name"]), str(form["role"]))
        return PlainTextResponse("ok")

    async def test_logout(request: Request) -> Response:
        logout(request)
        return PlainTextResponse("bye")

    app = create_app(store)
    app.router.routes[:0] = [Route("/test-login", test_login, methods=["POST"]),
                             Route("/test-logout", test_logout, methods=["POST"])]
    return app


def staff_client(store: Store, role: str, name: str = "anna") -> TestClient:
    c = TestClient(app_with_test_login(store), base_url="https://testserver")
    assert c.post("/test-login", data={"name": name, "role": role}).status_code == 200
    return c


@pytest.fixture(scope="session")
def queue_template(tmp_path_factory: pytest.TempPathFactory) -> Queue:
    return make_queue(tmp_path_factory.mktemp("queue"))


@pytest.fixture
def queue(queue_template: Queue, tmp_path: Path) -> Iterator[Queue]:
    q = copy_queue(queue_template, tmp_path)
    yield q
    q.store.dispose()
