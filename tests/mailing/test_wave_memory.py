"""Planning and producing a wave in flat memory (issue 13, item 3: a million letters).

Finding (bench/scale.py, bench/results/scale-produce-1m.json): planning a 1,000,000-letter wave peaked at
1.56 GB. `plan_wave` held every recipient as a SQLAlchemy row several times over (candidates, kept, by id,
in print order, a variant dict, a million codes), `_plan_batches` every piece, and the manifest was built
in memory (the CSV as one string, the workbook's sheet XML read whole to make it reproducible). Now the
recipients are streamed into compact arrays, codes are drawn 5,000 at a time and the manifest is streamed
into files. These tests pin the structure (memory that does not grow with the wave, measured by
tracemalloc, not by time) and that the result is the one the list-based planning gave.
"""

from __future__ import annotations

import dataclasses
import io
import random
import tracemalloc
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from mailing.campaigns import load
from mailing.config import Campaign
from mailing.store import Store, campaigns, imports, pieces, recipients, waves
from mailing.suppression import add_entry
from mailing.waves import plan_wave, quotas, sort_key
from reports.manifest import manifest_xlsx_bytes, write_manifest_xlsx

SIZES = (4_000, 16_000)  # two waves: what planning and the manifest need more for the larger one, per letter
COUNTRIES = ("DE", "DE", "DE", "AT", "CH", "NL", "DE")


def fill(store: Store, name: str, n: int, start: int = 0, postal_codes: int = 400) -> None:
    """n recipients straight into the store, in chunks, from a bounded set of postal codes and countries."""
    with store.begin() as conn:
        cid = conn.execute(select(campaigns.c.id).where(campaigns.c.name == name)).scalar_one()
        iid = conn.execute(insert(imports).values(campaign_id=cid, source_file="test", rows=n, imported=n,
                                                  rejected=0, duplicates=0, merged=0)).inserted_primary_key[0]
        for first in range(start, start + n, 5000):
            conn.execute(insert(recipients), [dict(
                campaign_id=cid, import_id=iid, source_row=i + 2, customer_id=f"K{i:07d}", salutation="female",
                first_name="Anna", last_name=f"Muster{i}", street="Hauptstraße", house_number=str(i % 90 + 1),
                postal_code="" if i % 97 == 0 else f"{(i * 7919) % postal_codes * 211 % 99000 + 1000:05d}",
                city="Köln", country=COUNTRIES[i % len(COUNTRIES)], match_key=f"k{i}", active=True)
                for i in range(first, min(start + n, first + 5000))])


def peaks(store: Store, name: str, out: Path) -> tuple[int, int]:
    """Bytes Python allocated at most while the wave and its batches were planned, and while its manifest
    (CSV and workbook) was written."""
    from mailing.production import _plan_batches, _prepare_manifest

    tracemalloc.start()
    try:
        with store.begin() as conn:
            cid, c = load(conn, name)
            wave_id = plan_wave(conn, cid, c)
            conn.execute(update(waves).where(waves.c.id == wave_id).values(produced_at=datetime(2026, 3, 2, 9)))
            wrow = conn.execute(select(waves).where(waves.c.id == wave_id)).one()
            _plan_batches(conn, wrow, c, 1)
        planning = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        out.mkdir()
        _prepare_manifest(store, c, wrow, out).discard()
        return planning, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_larger_wave_needs_hardly_more_memory(tmp_path: Path, campaign_file: Path, monkeypatch) -> None:
    from mailing import waves as wave_planning
    from mailing.campaigns import register_campaign

    # both waves larger than the streaming chunks, so that the comparison is of what grows with the wave,
    # not of a chunk buffer the smaller wave does not fill (CI measured 111 bytes per letter that way)
    monkeypatch.setattr(wave_planning, "STREAM_ROWS", 1_000)
    monkeypatch.setattr(wave_planning, "INSERT_ROWS", 1_000)

    measured = []
    for n in SIZES:
        store = Store.open(str(tmp_path / f"{n}.db"))
        c, _ = register_campaign(store, campaign_file)
        fill(store, c.name, n)
        measured.append(peaks(store, c.name, tmp_path / f"out-{n}"))
        store.dispose()
    (plan_small, manifest_small), (plan_large, manifest_large) = measured
    # a few dozen bytes per letter (ids, print-order groups, flags); the rows themselves took ~600
    grown = (plan_large - plan_small) / (SIZES[1] - SIZES[0])
    assert grown < 100, f"planning memory grew by {grown:.0f} bytes per letter ({measured})"
    # the manifest's rows go to files as they are read (in memory, CSV text and sheet XML took ~700); what
    # stays is openpyxl's shared-strings table: each code once, a str and its index entry, measured 73 bytes
    # per letter alone and 104-107 after other tests in the same process (100 MB at a million letters)
    grown = (manifest_large - manifest_small) / (SIZES[1] - SIZES[0])
    assert grown < 200, f"manifest memory grew by {grown:.0f} bytes per letter ({measured})"


def reference(c: Campaign, campaign_id: int, number: int, rows: list, suppressed: set[int]) -> list[tuple]:
    """The wave as the list-based planning (before streaming) assigned it: (recipient, variant, control, seq)."""
    keep = [r for r in rows if r.id not in suppressed]
    rng = random.Random(f"{c.production.seed}:{campaign_id}:{number}")
    by_id = sorted(keep, key=lambda x: x.id)
    control: set[int] = set()
    if c.production.control_share > 0:
        control = {x.id for x in rng.sample(by_id, round(len(by_id) * c.production.control_share / 100.0))}
    mailed = [x for x in by_id if x.id not in control]

    def labels(n: int) -> list[str]:
        out = [v.key for v, k in zip(c.variants, quotas(n, [v.share for v in c.variants]), strict=True)
               for _ in range(k)]
        rng.shuffle(out)
        return out

    variant_of = {x.id: v for x, v in zip(mailed, labels(len(mailed)), strict=True)}
    variant_of.update(zip(sorted(control), labels(len(control)), strict=True))
    ordered = sorted(keep, key=lambda x: sort_key(x.country, x.postal_code, x.id))
    return [(x.id, variant_of[x.id], x.id in control, i + 1) for i, x in enumerate(ordered)]


def test_streamed_planning_assigns_what_the_list_based_planning_did(store: Store, campaign) -> None:  # type: ignore[no-untyped-def]
    fill(store, campaign.name, 3000, postal_codes=60)
    with store.begin() as conn:
        cid, c = load(conn, campaign.name)
        v = c.variants[0]
        c = dataclasses.replace(c, production=dataclasses.replace(c.production, control_share=10),
                                variants=[dataclasses.replace(v, key=k, share=s) for k, s in
                                          (("A", 20), ("B", 33), ("C", 47))])
        rows = conn.execute(select(recipients.c.id, recipients.c.country, recipients.c.postal_code)
                            .order_by(recipients.c.id.desc())).all()
        for r in rows[::50]:
            add_entry(conn, "objection", "import", "test", recipient_row=conn.execute(
                select(recipients).where(recipients.c.id == r.id)).mappings().one(), campaign_id=cid)
        suppressed = {r.id for r in rows[::50]}
        wave_id = plan_wave(conn, cid, c)
        got = [tuple(r) for r in conn.execute(select(pieces.c.recipient_id, pieces.c.variant, pieces.c.control,
                                                     pieces.c.seq).where(pieces.c.wave_id == wave_id)
                                              .order_by(pieces.c.seq))]
        number = conn.execute(select(waves.c.number).where(waves.c.id == wave_id)).scalar_one()
    assert got == reference(c, cid, number, list(rows), suppressed)
    assert {g[2] for g in got} == {True, False} and {g[1] for g in got} == {"A", "B", "C"}


def test_streamed_manifest_workbook_is_the_workbook_built_at_once(tmp_path: Path) -> None:
    """Its sheet (several MiB of XML) is re-packed in pieces; deflate gives the same bytes all the same."""
    columns = ["file", "page", "code", "customer_id", "postal_code"]
    rows = [{"file": f"welle-01-teil-{i // 5000 + 1:03d}.pdf", "page": i % 5000 + 1, "code": f"C{i:011d}",
             "customer_id": f"=K{i}" if i % 7 == 0 else f"K{i}", "postal_code": f"{i % 99000:05d}"}
            for i in range(25_000)]
    when = datetime(2026, 3, 2, 9, 30)
    path = tmp_path / "manifest.xlsx"
    write_manifest_xlsx(path, iter(rows), columns, "Manifest", created=when)
    at_once = manifest_xlsx_bytes(rows, columns, "Manifest", created=when)
    with zipfile.ZipFile(io.BytesIO(at_once)) as z:
        assert max(i.file_size for i in z.infolist()) > 3 << 20, "the sheet is larger than one piece"
    assert path.read_bytes() == at_once
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.xlsx"], "no temporary file left"
