"""`mailing user add` (issue 11, item 2): argon2id hashes, a password asked twice and not shown, or read from
standard input; a name taken twice, a short password and an unknown role each refused in one line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mailing.cli import main, root
from mailing.store import Store, users
from mailing.users import authenticate

PASSWORD = "lang-genug-und-geheim"


def add(db: Path, monkeypatch, capsys, name: str, *args: str, stdin: str = PASSWORD + "\n") -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = main(["--db", str(db), "user", "add", name, *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_user_add_from_stdin_stores_an_argon2id_hash_that_logs_in(tmp_path: Path, monkeypatch, capsys) -> None:
    db = tmp_path / "m.db"
    code, out = add(db, monkeypatch, capsys, "anna", "--role", "operator", "--password-stdin")
    assert code == 0 and "user anna added (operator)" in out
    store = Store.open(str(db))
    with store.connect() as conn:
        digest = conn.execute(select(users.c.password_hash)).scalar_one()
    assert digest.startswith("$argon2id$") and PASSWORD not in digest
    user = authenticate(store, "anna", PASSWORD)
    assert user is not None and user.role == "operator"
    assert authenticate(store, "anna", PASSWORD + "x") is None, "a wrong password is refused"
    assert authenticate(store, "bert", PASSWORD) is None
    store.dispose()


def test_user_add_asks_twice_without_showing_the_password(tmp_path: Path) -> None:
    result = CliRunner().invoke(root, ["--db", str(tmp_path / "m.db"), "user", "add", "chef", "--role", "admin"],
                                input=f"{PASSWORD}\n{PASSWORD}\n", obj={})
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "Repeat the password" in result.output
    assert PASSWORD not in result.output, "hidden input"


def test_user_add_refuses_a_repeat_that_differs(tmp_path: Path) -> None:
    result = CliRunner().invoke(root, ["--db", str(tmp_path / "m.db"), "user", "add", "chef", "--role", "admin"],
                                input=f"{PASSWORD}\nsomething-else-entirely\n", obj={})
    assert result.exit_code != 0 and "do not match" in result.output


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--role", "operator", "--password-stdin"], "kurz\n", "password too short"),
    (["--role", "operator", "--password-stdin"], "\n", "no password on standard input"),
    (["--role", "boss", "--password-stdin"], PASSWORD + "\n", "'boss' is not one of"),
])
def test_user_add_refuses_bad_input_in_one_line(tmp_path: Path, monkeypatch, capsys, args, stdin, message) -> None:
    code, out = add(tmp_path / "m.db", monkeypatch, capsys, "anna", *args, stdin=stdin)
    assert code in (1, 2) and message in out and "Traceback" not in out
    if code == 1:  # a user error: one line (wrong usage, exit 2, is click's usage message)
        assert len(out.strip().splitlines()) == 1


def test_user_name_taken_twice_is_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    db = tmp_path / "m.db"
    assert add(db, monkeypatch, capsys, "anna", "--role", "operator", "--password-stdin")[0] == 0
    code, out = add(db, monkeypatch, capsys, "anna", "--role", "admin", "--password-stdin")
    assert code == 1 and out.strip() == "error: user 'anna' already exists; choose another name"


def test_user_list(tmp_path: Path, monkeypatch, capsys) -> None:
    db = tmp_path / "m.db"
    add(db, monkeypatch, capsys, "anna", "--role", "operator", "--password-stdin")
    capsys.readouterr()
    assert main(["--db", str(db), "user", "list", "--json"]) == 0
    assert capsys.readouterr().out.strip() == '[{"name": "anna", "role": "operator", "clients": []}]'
