"""Builds a realistic campaign straight into the store (plain SQLAlchemy bulk inserts) for report tests
and bench/report.py, without the producer or the scanner.

Two waves (an initial wave with variants A/B and a control group, a reminder wave), recipients with
German names (some starting with = + - @), postal codes in DE plus AT/CH/NL, undeliverable pieces,
responses over several weeks with ticked/unticked/doubtful options, duplicate scans, open and resolved
review items, and suppression entries from this campaign (and one from elsewhere that must not show).

`build_campaign` returns `Expected`: counters kept in Python while generating, so tests compare the
workbook against numbers computed independently of the report's SQL.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from mailing.campaigns import campaign_row
from mailing.store import (
    Store,
    imports,
    pieces,
    recipients,
    response_options,
    responses,
    review_items,
    scans,
    suppression,
    waves,
)

FORMULA_NAMES = ('=HYPERLINK("http://evil.example/x","Klick")', "+49 171 2345678", "-Müller", "@home",
                 "=1+2", "=cmd|' /C calc'!A0")
FIRST = ("Anna", "Jürgen", "Sabine", "Klaus", "Ülkü", "Maximilian", "Grete", "Jörg", "Birgit", "Heinz",
         "Monika", "Stefan", "Ursula", "Wolfgang", "Sören", "Renate")
LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weiß", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "von Grünberg", "Groß")
CITIES = ("Köln", "München", "Düsseldorf", "Hamburg", "Berlin", "Würzburg", "Lüneburg", "Görlitz")
OPTION_P = {"info": 0.6, "call": 0.25, "optout": 0.05}
CHUNK = 20_000


@dataclass
class Expected:
    campaign_id: int
    drop_dates: dict[int, date]
    sent: Counter[int] = field(default_factory=Counter)  # wave → pieces sent (not control)
    control: Counter[int] = field(default_factory=Counter)  # wave → control pieces
    undeliverable: Counter[int] = field(default_factory=Counter)
    responses: Counter[int] = field(default_factory=Counter)  # wave → responses to sent pieces
    variant_pieces: Counter[tuple[int, str]] = field(default_factory=Counter)  # (wave, variant|"control")
    variant_responses: Counter[tuple[int, str]] = field(default_factory=Counter)
    region_sent: Counter[str] = field(default_factory=Counter)  # "50" (Leitregion) or "AT" (country)
    region_responses: Counter[str] = field(default_factory=Counter)
    days: Counter[date] = field(default_factory=Counter)  # received_on → responses to sent pieces
    ticked: Counter[str] = field(default_factory=Counter)
    doubtful: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    review_open: int = 0
    suppression_by_source: Counter[str] = field(default_factory=Counter)
    formula_names: tuple[str, ...] = FORMULA_NAMES

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    @property
    def total_responses(self) -> int:
        return sum(self.responses.values())


def _next_id(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def _insert_id(conn: Connection, stmt: Any) -> int:
    pk = conn.execute(stmt).inserted_primary_key
    if pk is None:
        raise RuntimeError("insert returned no primary key")
    return int(pk[0])


def _flush(conn: Connection, table: Any, rows: list[dict[str, Any]], force: bool = False) -> None:
    if rows and (force or len(rows) >= CHUNK):
        conn.execute(insert(table), rows)
        rows.clear()


SUPPRESSION_KEYS = ("reason", "customer_id", "last_name", "first_name", "company", "street", "house_number",
                    "postal_code", "city", "country", "match_key", "source", "source_ref", "campaign_id",
                    "created_at", "client_id")


def _supp(**values: Any) -> dict[str, Any]:
    """A suppression row with every column named (executemany needs the same keys in every row)."""
    return {k: values.get(k) for k in SUPPRESSION_KEYS}


def _postal(rng: random.Random) -> tuple[str, str, str]:
    """(country, postal_code, city): mostly German, some AT/CH/NL."""
    r = rng.random()
    if r < 0.94:
        return "DE", f"{rng.randint(1067, 99998):05d}", rng.choice(CITIES)
    if r < 0.97:
        return "AT", f"{rng.randint(1010, 9992)}", "Wien"
    if r < 0.99:
        return "CH", f"{rng.randint(1000, 9658)}", "Zürich"
    return "NL", f"{rng.randint(1011, 9999)} AB", "Amsterdam"


def build_campaign(store: Store, campaign_name: str, n_pieces: int = 400, n_responses: int = 60, seed: int = 7,
                   control_share: float = 0.1, undeliverable_share: float = 0.02,
                   drop_date: date = date(2026, 3, 2), review_open: int = 3) -> Expected:
    """Fill the store with one campaign's waves, pieces, responses, scans, review items, suppression.

    Wave 1 (initial) goes to ~85 % of `n_pieces` recipients, wave 2 (reminder, 21 days later) to the rest
    of the pieces, sent to the first recipients again. Responses are drawn per sent, deliverable piece
    (variant B answers ~30 % more often than A), received 1-45 days after that wave's drop date.
    """
    rng = random.Random(seed)
    now = datetime(2026, 4, 20, 12, 0)
    with store.begin() as conn:
        row = campaign_row(conn, campaign_name)
        cid, client_id = row.id, row.client_id
        drops = {1: drop_date, 2: drop_date + timedelta(days=21)}
        exp = Expected(cid, drops)
        n_recipients = max(1, int(n_pieces * 0.85))
        n_wave2 = n_pieces - n_recipients
        import_id = _insert_id(conn, insert(imports).values(
            campaign_id=cid, source_file="adressen.csv", rows=n_recipients, imported=n_recipients, rejected=0,
            duplicates=0, merged=0))
        rid0 = _next_id(conn, recipients)
        region_of: dict[int, str] = {}
        batch: list[dict[str, Any]] = []
        for i in range(n_recipients):
            country, plz, city = _postal(rng)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            if i < len(FORMULA_NAMES):
                last = FORMULA_NAMES[i]
                first = FORMULA_NAMES[(i + 1) % len(FORMULA_NAMES)]
            region_of[rid0 + i] = plz[:2] if country == "DE" else country
            batch.append(dict(
                id=rid0 + i, campaign_id=cid, import_id=import_id, source_row=i + 2, customer_id=f"K{i:07d}",
                salutation=rng.choice(("female", "male", "none", "company")), title=None, first_name=first,
                last_name=last, company="=SUMME(A1:A9)" if i == 1 else None, addition=None, street="Hauptstraße",
                house_number=str(rng.randint(1, 200)), postbox=None, postal_code=plz, city=city, country=country,
                email=f"kunde{i}@example.de", phone="+49 221 " + str(1000000 + i), address_override=None,
                salutation_override=None, match_key=f"k{i}", duplicate_of=None, duplicate_kind=None, active=True,
                created_at=now))
            _flush(conn, recipients, batch)
        _flush(conn, recipients, batch, force=True)

        wave_ids = {}
        for number, kind in ((1, "initial"), (2, "reminder")):
            wave_ids[number] = _insert_id(conn, insert(waves).values(
                campaign_id=cid, number=number, kind=kind, rule="reminder" if number == 2 else None,
                status="produced", drop_date=drops[number], seed=seed, suppressed=3 if number == 1 else 0,
                planned_at=now))

        pid = _next_id(conn, pieces)
        sid = _next_id(conn, scans)
        resp_id = _next_id(conn, responses)
        base_rate = n_responses / max(1, n_pieces * (1 - control_share) * (1 - undeliverable_share))
        piece_rows: list[dict[str, Any]] = []
        scan_rows: list[dict[str, Any]] = []
        resp_rows: list[dict[str, Any]] = []
        opt_rows: list[dict[str, Any]] = []
        answered: list[tuple[int, str]] = []  # (piece id, code) for duplicates and suppression
        undeliverable_refs: list[int] = []

        def targets() -> Iterator[tuple[int, int]]:
            for i in range(n_recipients):
                yield 1, rid0 + i
            for i in range(n_wave2):
                yield 2, rid0 + (i % n_recipients)

        for seq, (wave, rid) in enumerate(targets()):
            control = wave == 1 and rng.random() < control_share
            variant = rng.choice(("A", "B"))
            undeliverable = not control and rng.random() < undeliverable_share
            code = f"C{pid:011d}X"
            piece_rows.append(dict(id=pid, wave_id=wave_ids[wave], recipient_id=rid, code=code, variant=variant,
                                   control=control, seq=seq, batch_id=None, first_page=None,
                                   undeliverable=undeliverable))
            group = "control" if control else variant
            exp.variant_pieces[(wave, group)] += 1
            if control:
                exp.control[wave] += 1
            else:
                exp.sent[wave] += 1
                exp.region_sent[region_of[rid]] += 1
            if undeliverable:
                exp.undeliverable[wave] += 1
                undeliverable_refs.append(rid)
            rate = base_rate * (1.3 if variant == "B" else 0.77)
            if not control and not undeliverable and rng.random() < rate:
                received = drops[wave] + timedelta(days=min(45, 1 + int(rng.expovariate(1 / 6))))
                scan_rows.append(dict(id=sid, image_hash=f"h{sid}", coupon_index=0, source=f"scan-{received}.pdf",
                                      page=1 + sid % 50, status="matched", code=code, piece_id=pid,
                                      returned_mail=False, decoder="zxing", created_at=now))
                resp_rows.append(dict(id=resp_id, piece_id=pid, scan_id=sid, received_on=received,
                                      source="scan" if rng.random() < 0.95 else "review", created_at=now))
                for key, p in OPTION_P.items():
                    r = rng.random()
                    ticked: bool | None = None if r < 0.02 else r < p + 0.02
                    opt_rows.append(dict(response_id=resp_id, key=key, ticked=ticked))
                    if ticked is None:
                        exp.doubtful[key] += 1
                    elif ticked:
                        exp.ticked[key] += 1
                exp.responses[wave] += 1
                exp.variant_responses[(wave, group)] += 1
                exp.region_responses[region_of[rid]] += 1
                exp.days[received] += 1
                answered.append((pid, code))
                sid += 1
                resp_id += 1
            pid += 1
            _flush(conn, pieces, piece_rows)
            if len(scan_rows) >= CHUNK:
                _flush(conn, pieces, piece_rows, force=True)
                _flush(conn, scans, scan_rows, force=True)
                _flush(conn, responses, resp_rows, force=True)
                _flush(conn, response_options, opt_rows, force=True)
        _flush(conn, pieces, piece_rows, force=True)
        _flush(conn, scans, scan_rows, force=True)
        _flush(conn, responses, resp_rows, force=True)
        _flush(conn, response_options, opt_rows, force=True)

        # duplicates: a second copy of every 10th answered coupon (kept, not counted)
        extra: list[dict[str, Any]] = []
        for k, (p, code) in enumerate(answered[::10]):
            extra.append(dict(id=sid, image_hash=f"dup{sid}", coupon_index=0, source="nachzuegler.pdf", page=k + 1,
                              status="duplicate", reason=None, code=code, piece_id=p, returned_mail=False, created_at=now))
            sid += 1
            exp.duplicates += 1
        # review items: `review_open` open ones (unreadable pages, not tied to a piece), one resolved
        review_rows: list[dict[str, Any]] = []
        for k in range(review_open + 1):
            extra.append(dict(id=sid, image_hash=f"rev{sid}", coupon_index=0, source='="scan"&"-fehler.pdf"',
                              page=k + 1, status="unreadable", reason="no code found", code=None, piece_id=None,
                              returned_mail=False, created_at=now))
            review_rows.append(dict(scan_id=sid, kind="unreadable", status="open" if k < review_open else "resolved",
                                    note=None, created_at=now))
            sid += 1
        exp.review_open = review_open
        _flush(conn, scans, extra, force=True)
        _flush(conn, review_items, review_rows, force=True)

        supp: list[dict[str, Any]] = []
        for rid in undeliverable_refs[:2000]:
            supp.append(_supp(reason="undeliverable", source="returned-mail", source_ref=f"scan {rid}",
                             customer_id=None, last_name="-Rückläufer", first_name="@x", postal_code="50667",
                             city="Köln", country="DE", match_key=f"k{rid}", campaign_id=cid, created_at=now,
                             client_id=client_id))
            exp.suppression_by_source["returned-mail"] += 1
        for p, _code in answered[:: 7][:2000]:
            supp.append(_supp(reason="objection", source="scan", source_ref=f"response {p}",
                             customer_id=f"K{p:07d}", last_name="=Widerspruch()", campaign_id=cid, created_at=now,
                             client_id=client_id))
            exp.suppression_by_source["scan"] += 1
        supp.append(_supp(reason="robinson", source="import", source_ref="robinson.csv", customer_id="X1",
                         campaign_id=None, created_at=now, client_id=client_id))  # not from this campaign: must not appear
        _flush(conn, suppression, supp, force=True)
    return exp
