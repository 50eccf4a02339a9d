"""The command line a person can live with: --db anywhere, --version, campaign list, dates, owner-only files,
examples in every --help, scan-gallery without a store."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import click
import numpy as np
import pytest
from PIL import Image
from recipients_helper import add_recipients

from mailing import __version__
from mailing.cli import main
from mailing.cli.common import DATE, root
from mailing.store import Store


def db_path(store: Store) -> str:
    return store.url.removeprefix("sqlite:///")


def all_commands(group: click.Group = root, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                         click.Command]]:
    yield path, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from all_commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_help_shows_an_example_and_db(capsys) -> None:
    """Bug: no command's --help showed how it is used."""
    seen = []
    for path, _command in all_commands():
        assert main([*path, "--help"]) == 0, path
        text = capsys.readouterr().out
        assert "Example:" in text and re.search(r"\n +mailing ", text.split("Example:")[1]), path
        assert "--db URL" in text, path
        seen.append(" ".join(path))
    assert {"import", "duplicates", "campaign list", "status", "scan-gallery", "review void", "produce"} <= set(seen)


def test_db_is_accepted_after_the_subcommand(store: Store, campaign, tmp_path: Path, capsys,
                                             monkeypatch) -> None:
    """Bug: `mailing status NAME --json --db FILE` was "no such option: --db"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILING_DB", raising=False)
    db = db_path(store)
    assert main(["status", campaign.name, "--json", "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)["campaign"] == campaign.name
    assert main(["campaign", "list", "--db", db, "--json"]) == 0
    assert [c["name"] for c in json.loads(capsys.readouterr().out)] == [campaign.name]
    assert main(["--db", db, "campaign", "list", "--json"]) == 0  # before it, as ever
    assert json.loads(capsys.readouterr().out)[0]["name"] == campaign.name
    assert not (tmp_path / "mailing.db").exists()  # the default store was never touched


def test_db_naming_a_folder_says_so(tmp_path: Path, capsys) -> None:
    assert main(["campaign", "list", "--db", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err == (f"error: store {tmp_path} is a folder; name a store file such as {tmp_path / 'mailing.db'} "
                   "(--db or $MAILING_DB)\n")
    assert main(["--db", str(tmp_path / "nowhere" / "m.db"), "campaign", "list"]) == 1
    assert "folder" in capsys.readouterr().err and not (tmp_path / "nowhere").exists()


def test_version(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"mailing {__version__}\n"


def test_campaign_list(store: Store, campaign, capsys) -> None:
    add_recipients(store, campaign.name, 3)
    assert main(["campaign", "list", "--json", "--db", db_path(store)]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["name"], row["title"], row["recipients"]) == (campaign.name, campaign.title, 3)
    assert date.fromisoformat(row["created"][:10]) == date.today()
    assert main(["campaign", "list", "--db", db_path(store)]) == 0
    assert campaign.name in capsys.readouterr().out


def test_campaign_list_without_campaigns(tmp_path: Path, capsys) -> None:
    assert main(["campaign", "list", "--json", "--db", str(tmp_path / "m.db")]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("text", ["30.11.2026", "2026-11-30", " 30.11.2026 "])
def test_dates_german_or_iso(text: str) -> None:
    assert DATE.convert(text, None, None) == date(2026, 11, 30)


def test_date_options_take_german_dates(store: Store, campaign, capsys) -> None:
    """Bug: `--as-of 30.11.2026` was refused; only ISO dates were accepted."""
    assert main(["followup", campaign.name, "--as-of", "30.11.2026", "--dry-run", "--json",
                 "--db", db_path(store)]) == 0
    assert '"as_of": "2026-11-30"' in capsys.readouterr().out
    assert main(["followup", campaign.name, "--as-of", "31.11.2026", "--dry-run", "--db", db_path(store)]) == 2
    assert "'31.11.2026' is not a date; write it as 30.11.2026 or 2026-11-30" in capsys.readouterr().err
    for path, command in all_commands():
        for param in command.params:
            if isinstance(param, click.Option) and any(n.endswith(("-date", "-of", "-on")) for n in param.opts):
                assert param.type is DATE, (path, param.opts)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_and_print_package_are_owner_only(tmp_path: Path, campaign_file: Path, capsys) -> None:
    """Bug: the store and every output (manifest with names and addresses) were world-readable."""
    old = os.umask(0o022)
    try:
        db = tmp_path / "neu.db"
        assert main(["campaign", "add", str(campaign_file), "--db", str(db)]) == 0
        store = Store.open(str(db))
        add_recipients(store, "fruehjahr-2026", 3)
        store.dispose()
        out = tmp_path / "druck"
        assert main(["produce", "fruehjahr-2026", "--out", str(out), "--jobs", "1", "--drop-date", "30.11.2026",
                     "--db", str(db)]) == 0
        assert os.umask(0o022) == 0o022  # restored after the command
    finally:
        os.umask(old)
    produced = [p for p in out.iterdir()]
    assert {"welle-01-manifest.csv", "welle-01-manifest.xlsx"} <= {p.name for p in produced}
    for path in [db, out, *produced]:
        assert _mode(path) & 0o077 == 0, (path, oct(_mode(path)))
    assert _mode(db) == 0o600


def test_a_stricter_umask_is_kept(store: Store, campaign, tmp_path: Path, capsys) -> None:
    db = db_path(store)
    old = os.umask(0o277)
    try:
        assert main(["duplicates", campaign.name, "--out", str(tmp_path / "d.csv"), "--db", db]) == 0
    finally:
        os.umask(old)
    assert _mode(tmp_path / "d.csv") == 0o400


def test_scan_gallery_writes_no_store(tmp_path: Path, monkeypatch, capsys) -> None:
    """Bug: `scan-gallery` (nothing is recorded) created ./mailing.db."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILING_DB", raising=False)
    Image.fromarray(np.full((400, 300), 255, dtype=np.uint8)).save(tmp_path / "leer.png")
    assert main(["scan-gallery", "leer.png", "--out", "boxes.png", "--jobs", "1"]) == 0
    assert "0 tick boxes" in capsys.readouterr().out
    assert not (tmp_path / "mailing.db").exists()


def test_a_world_readable_store_from_an_earlier_version_is_closed(tmp_path: Path, capsys) -> None:
    db = tmp_path / "alt.db"
    Store.open(str(db)).dispose()
    os.chmod(db, 0o664)
    assert main(["campaign", "list", "--db", str(db)]) == 0
    assert _mode(db) == 0o660
