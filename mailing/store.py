"""The store: SQLAlchemy Core 2.x tables, connection, transactions and the schema version.

Default: a SQLite file (WAL, foreign keys on, busy timeout). Any SQLAlchemy URL works; nothing here is
SQLite-only, so PostgreSQL (``postgresql+psycopg://...``) just works. Every command's writes happen in one
transaction (`Store.begin()`); readers use `Store.connect()`.

Tables (one row per ...):
- clients: one company (Mandant) an agency mails for; every campaign belongs to one (mailing/clients.py)
- campaigns: registered campaign file (its TOML text is kept, so a wave can be re-rendered identically)
- imports: one recipient import run; recipients: one address of one campaign
- suppression: one suppression entry (shared by all campaigns); wave_suppressions: entries a wave applied
- waves: one mailing wave (initial, reminder, follow-up letter); pieces: one letter with its unique code
- batches: one print PDF of a wave
- scan_runs: one `mailing scan` (the unit of undo)
- scans: one coupon (or one page without a coupon) read from scanner output; scan_marks: its tick boxes
- responses: the one counted response of a piece; response_options: its ticked options
- users: one person who logs in to the web (review station, phone desk, campaign pages); user_clients: the
  clients a user may see (none listed: all)
- review_items: what a person must look at; followups: one follow-up action for one recipient
- audit_log: who did what, when
- web_sessions: one login to the web front end (mailing/web/security.py)
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    insert,
    inspect,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

from mailing.errors import StoreError

# The schema version this program writes: the number of the newest migration in mailing/migrations/versions
# (tests/mailing/test_migrations.py checks they agree). Every schema change is a new migration.
SCHEMA_VERSION = 5
DEFAULT_DB = "mailing.db"
# The client a campaign file without `client = "..."` belongs to; every store has it (new stores get it at
# creation, older ones from migration 0004, which gives it everything they held).
DEFAULT_CLIENT = "default"
DEFAULT_CLIENT_NAME = "Standard"

metadata = MetaData()
# Personal fields are Text: they may arrive very long, and PostgreSQL (unlike SQLite) enforces VARCHAR(n).


def utcnow() -> datetime:
    """Naive UTC timestamp, as stored in every DateTime column."""
    return datetime.now(UTC).replace(tzinfo=None)



def in_chunks(ids: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    """Split ids for `IN (...)` clauses (databases limit the number of bound parameters)."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

clients = Table(  # issue 13: the companies (Mandanten) an agency runs campaigns for
    "clients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(50), nullable=False, unique=True),  # short name used on the command line and in campaign.toml
    Column("name", Text, nullable=False),  # display name ("Gartenwelt Schneider GmbH")
    Column("created_at", DateTime, nullable=False, default=utcnow),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("source_file", Text, nullable=False),
    Column("config_toml", Text, nullable=False),
    Column("config_sha256", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("updated_at", DateTime, nullable=False, default=utcnow),
    # The client the campaign belongs to. Always written (`campaign add`); NULL-able only because SQLite adds
    # a column without rebuilding the table only when it may be empty (migration 0004 fills it).
    Column("client_id", ForeignKey("clients.id")),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id"), nullable=False),
    Column("source_file", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("imported", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),  # likely/exact duplicates found
    Column("merged", Integer, nullable=False),  # of which merged away (mode merge-keep-first)
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("content_sha256", String(64)),  # SHA-256 of the file's bytes: the same file imported again
    Column("already_present", Integer, nullable=False, server_default="0"),  # rows not added: already there
    # `import --from OTHER`: the earlier campaign its people came from (source_file says which selection)
    Column("from_campaign_id", ForeignKey("campaigns.id")),
    Column("suppressed", Integer, nullable=False, server_default="0"),  # rows not added: on the suppression list
    Index("ix_imports_content", "campaign_id", "content_sha256"),
)

recipients = Table(
    "recipients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id"), nullable=False),
    Column("import_id", ForeignKey("imports.id"), nullable=False),
    Column("source_row", Integer, nullable=False),  # row as a spreadsheet shows it (header = 1)
    Column("customer_id", Text),
    Column("salutation", String(20), nullable=False),  # female | male | none | company
    Column("title", Text),  # academic titles as given: "Prof. Dr."
    Column("first_name", Text),
    Column("last_name", Text),
    Column("company", Text),
    Column("addition", Text),  # Zusatz: department, "bei ..."
    Column("street", Text),
    Column("house_number", Text),
    Column("postbox", Text),  # Postfach number, digits only
    Column("postal_code", Text, nullable=False),
    Column("city", Text, nullable=False),
    Column("country", String(2), nullable=False),  # ISO 3166-1 alpha-2
    Column("email", Text),
    Column("phone", Text),
    Column("address_override", Text),  # per-record address block, lines separated by "\n"
    Column("salutation_override", Text),  # per-record greeting line
    Column("match_key", Text, nullable=False),  # normalised address + surname, for dedupe
    Column("duplicate_of", ForeignKey("recipients.id")),  # likely duplicate of an earlier recipient
    Column("duplicate_kind", String(20)),  # exact | likely
    Column("active", Boolean, nullable=False, default=True),  # False: merged away, never mailed
    Column("created_at", DateTime, nullable=False, default=utcnow),
    # `person erase` / `purge`: when the personal fields were blanked (None: they are as imported). Such a
    # record is never mailed again; its pieces and responses stay for the statistics.
    Column("erased_at", DateTime),
    # the suppression entry (keyed hash) that keeps an erased record suppressed; no foreign key, so that a
    # withdrawn entry simply stops counting
    Column("suppression_id", Integer),
    Index("ix_recipients_campaign", "campaign_id"),
    Index("ix_recipients_match", "campaign_id", "match_key"),
    Index("ix_recipients_customer", "campaign_id", "customer_id"),
)

# Extra columns of the address file the campaign names (`[import] segments`), one row per recipient and column
# (issue 14): customer group, revenue class, last purchase, ... as written in the file; the report's
# "Segmente" sheet groups the response by them. Blanked with the record on erasure.
recipient_segments = Table(
    "recipient_segments",
    metadata,
    Column("recipient_id", ForeignKey("recipients.id"), primary_key=True),
    Column("key", String(100), primary_key=True),  # the column's header as named in the campaign file
    Column("value", Text),  # as written in the file (None: empty cell)
)

suppression = Table(
    "suppression",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reason", String(20), nullable=False),  # objection | robinson | undeliverable | deceased
    Column("customer_id", Text),
    Column("last_name", Text),
    Column("first_name", Text),
    Column("company", Text),
    Column("street", Text),
    Column("house_number", Text),
    Column("postal_code", Text),
    Column("city", Text),
    Column("country", String(2)),
    Column("match_key", Text),  # normalised name + address; None when only a customer id
    Column("source", String(30), nullable=False),  # import | scan | returned-mail | review | followup
    Column("source_ref", Text),  # file name, scan id, ...
    Column("campaign_id", ForeignKey("campaigns.id")),  # the campaign whose response added it
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("expires_at", Date),  # None = never (objections never expire)
    # Keyed hashes (HMAC-SHA256 with the store secret, see suppression.py) that replace the personal fields
    # above after `person erase` or `purge`: the entry still matches the person, and nothing readable stays.
    Column("customer_hash", String(64)),
    Column("key_hash", String(64)),  # of match_key
    Column("first_name_hash", String(64)),  # of match_key + folded first name (None: no first name)
    Column("initial_hash", String(64)),  # of match_key + the first name's initial
    # The client in whose name the entry was recorded: its customer id is that client's (customer ids are per
    # client), and an objection binds that client only. Robinson, undeliverable, deceased and erased entries
    # match name + address for every client (mailing/suppression.py). Always written; NULL-able as above.
    Column("client_id", ForeignKey("clients.id")),
    Index("ix_suppression_match", "match_key"),
    Index("ix_suppression_customer", "customer_id"),
)

waves = Table(
    "waves",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", String(30), nullable=False),  # initial | reminder | letter:<name>
    Column("rule", String(100)),  # follow-up rule that created it
    Column("letter", String(100)),  # letter template key; None = the campaign's main letter
    Column("status", String(20), nullable=False, default="planned"),  # planned | produced | dropped
    Column("drop_date", Date),
    Column("seed", Integer, nullable=False),
    Column("suppression_max_id", Integer, nullable=False, default=0),  # suppression state used
    Column("suppression_count", Integer, nullable=False, default=0),  # entries in force when planned
    Column("suppressed", Integer, nullable=False, default=0),  # recipients it left out
    Column("capped", Integer, nullable=False, server_default="0"),  # held back by the contact cap (issue 14)
    Column("planned_at", DateTime, nullable=False, default=utcnow),
    Column("produced_at", DateTime),  # set when production starts; the job ticket's time, kept for reprints
    Column("config_toml", Text),  # the campaign text the wave was planned with (None: stores before it)
    Column("out_dir", Text),  # the folder the wave was (last) produced into
    Column("assets_sha256", Text),  # JSON {kind: SHA-256} of logo/signature/enclosure files at first production
    UniqueConstraint("campaign_id", "number", name="uq_wave_number"),
)

wave_suppressions = Table(
    "wave_suppressions",
    metadata,
    Column("wave_id", ForeignKey("waves.id"), primary_key=True),
    Column("recipient_id", ForeignKey("recipients.id"), primary_key=True),
    Column("suppression_id", ForeignKey("suppression.id"), nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("wave_id", ForeignKey("waves.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("file", String(200), nullable=False),  # no personal data in file names
    Column("pieces", Integer, nullable=False),
    Column("pages", Integer),
    Column("sha256", String(64)),
    Column("status", String(20), nullable=False, default="pending"),  # pending | done
    UniqueConstraint("wave_id", "number", name="uq_batch_number"),
)

pieces = Table(
    "pieces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("wave_id", ForeignKey("waves.id"), nullable=False),
    Column("recipient_id", ForeignKey("recipients.id"), nullable=False),
    Column("code", String(20), nullable=False, unique=True),  # unique in the whole store
    Column("variant", String(50), nullable=False),
    Column("control", Boolean, nullable=False, default=False),  # control group: no letter, counted
    Column("seq", Integer, nullable=False),  # position in the wave's sort order
    Column("batch_id", ForeignKey("batches.id")),
    Column("first_page", Integer),  # first page of the piece within its batch file, 1-based
    Column("undeliverable", Boolean, nullable=False, default=False),
    UniqueConstraint("wave_id", "recipient_id", name="uq_piece_recipient"),
    Index("ix_pieces_wave", "wave_id", "seq"),
)

scan_runs = Table(
    "scan_runs",
    metadata,
    Column("id", Integer, primary_key=True),  # the run id `scan --json`, `runs` and `runs undo` show
    Column("started_at", DateTime, nullable=False, default=utcnow),
    Column("finished_at", DateTime),  # None: still running, or stopped before its end
    Column("actor", String(100)),
    Column("returned_mail", Boolean, nullable=False, default=False),
    Column("sources", Text),  # the paths as given, one per line
    Column("pages", Integer, nullable=False, default=0, server_default="0"),  # pages read (repeats included)
    Column("undone_at", DateTime),  # `runs undo`: everything it recorded was taken back
)

scans = Table(
    "scans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("image_hash", String(64), nullable=False),  # SHA-256 of the decoded page pixels
    Column("coupon_index", Integer, nullable=False, default=0),  # several coupons on one page
    Column("source", Text, nullable=False),
    Column("page", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # matched|duplicate|unknown|invalid|unreadable|returned
    Column("reason", Text),
    Column("code", Text),  # as read: may be anything for invalid codes
    Column("piece_id", ForeignKey("pieces.id")),
    Column("returned_mail", Boolean, nullable=False, default=False),
    Column("decoder", String(40)),  # which decoder/retry read the code
    Column("snippet", LargeBinary),  # reduced picture (PNG) for review
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("run_id", ForeignKey("scan_runs.id")),  # the scan run that recorded it (None: before runs existed)
    Column("suppression_id", ForeignKey("suppression.id")),  # the entry its opt-out or return added
    Column("phone_snippet", LargeBinary),  # the telephone write-in line (JPEG) for the call list (issue 10)
    # the page was black and white (a bitonal scan, a fax), where a light tick can vanish: its doubtful boxes
    # are settled by a grey rescan (mailing/settle.py); None: recorded before schema 5
    Column("bitonal", Boolean),
    UniqueConstraint("image_hash", "coupon_index", name="uq_scan_image"),
)

scan_marks = Table(
    "scan_marks",
    metadata,
    Column("scan_id", ForeignKey("scans.id"), primary_key=True),
    Column("key", String(50), primary_key=True),
    Column("score", Float, nullable=False),  # ink fraction of the box interior, 0..1
    Column("state", String(10), nullable=False),  # ticked | empty | doubtful
    Column("snippet", LargeBinary),  # the box crop (PNG), for review and the tuning gallery
)

responses = Table(
    "responses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("piece_id", ForeignKey("pieces.id"), nullable=False, unique=True),  # one counted response
    Column("scan_id", ForeignKey("scans.id")),
    Column("received_on", Date, nullable=False),
    Column("source", String(20), nullable=False),  # scan | review
    Column("created_at", DateTime, nullable=False, default=utcnow),
)

response_options = Table(
    "response_options",
    metadata,
    Column("response_id", ForeignKey("responses.id"), primary_key=True),
    Column("key", String(50), primary_key=True),
    Column("ticked", Boolean),  # None = doubtful, waiting for review
    # the scan of a clearer copy (a grey rescan, a second copy) that decided this box after the counted
    # response left it doubtful (mailing/settle.py); `runs undo` of that scan's run makes it doubtful again
    Column("settled_by", ForeignKey("scans.id")),
)

review_items = Table(
    "review_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scan_id", ForeignKey("scans.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # unreadable | invalid | unknown | doubtful | conflict
    Column("status", String(20), nullable=False, default="open"),  # open | resolved | voided
    Column("note", Text),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("resolved_at", DateTime),
    # The review station's claim: the user working on the item, until when (two operators never share one)
    Column("claimed_by", String(100)),
    Column("claimed_until", DateTime),
    Column("settled_by", ForeignKey("scans.id")),  # the clearer copy that closed it (mailing/settle.py)
    UniqueConstraint("scan_id", name="uq_review_scan"),
)

followups = Table(
    "followups",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id"), nullable=False),
    Column("rule", String(100), nullable=False),  # rule id from the campaign file
    Column("action", String(20), nullable=False),  # letter | call | suppress
    Column("recipient_id", ForeignKey("recipients.id"), nullable=False),
    Column("response_id", ForeignKey("responses.id")),
    Column("wave_id", ForeignKey("waves.id")),  # the wave the letter went into (None while pooled)
    Column("status", String(20), nullable=False, default="done"),  # pending (pooled) | done | skipped
    Column("note", Text),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    UniqueConstraint("campaign_id", "rule", "recipient_id", name="uq_followup_once"),
)

consents = Table(  # issue 14: explicit consent to a telephone call (UWG §7 Abs. 2 Nr. 1), and its withdrawal
    "consents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recipient_id", ForeignKey("recipients.id"), nullable=False),
    Column("campaign_id", ForeignKey("campaigns.id"), nullable=False),
    Column("kind", String(20), nullable=False, server_default="call"),  # call
    Column("response_id", ForeignKey("responses.id")),  # the answer that gave it (None: a withdrawal alone)
    Column("given_on", Date),  # the day the answer arrived
    Column("channel", String(20)),  # scan (paper coupon) | review | online | phone
    Column("source", Text),  # where it is on record: "Scan 17 (Antwortkarte)", "Online-Antwort 5"
    Column("recorded_at", DateTime, nullable=False, default=utcnow),
    Column("withdrawn_at", DateTime),  # None: in force
    Column("withdrawn_by", String(100)),
    UniqueConstraint("recipient_id", "kind", "response_id", name="uq_consent_once"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),  # operator | admin
    Column("password_hash", Text, nullable=False),  # argon2id, with its parameters and salt
    Column("created_at", DateTime, nullable=False, default=utcnow),
)

user_clients = Table(  # the clients a user may see in the web; a user without rows here sees all
    "user_clients",
    metadata,
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("client_id", ForeignKey("clients.id"), primary_key=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime, nullable=False, default=utcnow),
    Column("actor", String(100), nullable=False),
    Column("action", String(50), nullable=False),
    Column("entity", String(50), nullable=False),
    Column("entity_id", Integer),
    Column("detail", Text),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),  # the cookie's token, hashed
    Column("user_name", String(100), nullable=False),
    Column("role", String(20), nullable=False),  # operator | admin, as at login
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("last_seen", DateTime, nullable=False, default=utcnow),
    Column("ended_at", DateTime),  # logout or idle time-out: the token logs nobody in any more
)


# Alembic's own bookkeeping table, written with a new store so that `db upgrade` knows where it starts. Kept
# out of `metadata`: it is not part of the domain schema.
alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), primary_key=True),
)


def database_url(db: str | None) -> str:
    """`--db` value → SQLAlchemy URL. A plain path means a SQLite file."""
    value = db or os.environ.get("MAILING_DB") or DEFAULT_DB
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().absolute()}"


def _prepare_sqlite_file(url: str) -> None:
    """A SQLite store file: refuse a folder or a missing folder in one line; create the file owner-only
    (0600, personal data; SQLite gives its -wal/-shm files the same permissions); take world access away
    from an existing one (group access, if given, stays: a team may share a store on purpose)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if path.is_dir():
        raise StoreError(f"store {path} is a folder; name a store file such as {path / DEFAULT_DB} (--db or "
                         "$MAILING_DB)")
    if not path.parent.is_dir():
        raise StoreError(f"store {path}: folder {path.parent} does not exist; create it first")
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise StoreError(f"cannot create store {path}: {exc.strerror}") from exc
        return
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = part.stat().st_mode
            if mode & 0o007:  # written by an earlier version: personal data readable by anyone
                os.chmod(part, mode & ~0o007 & 0o7777)
        except OSError:
            continue  # not there, or not ours to change


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class Store:
    """Opens the database, creates or checks the schema, hands out connections and transactions."""

    def __init__(self, url: str, *, check_schema: bool = True) -> None:
        self.url = url
        _prepare_sqlite_file(url)
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open store {url!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._ensure_schema(check_schema)

    @classmethod
    def open(cls, db: str | None = None, *, check_schema: bool = True) -> Store:
        """The store named by `db` (see database_url). `check_schema=False` opens an older store as it is,
        for `db upgrade` and `db backup` only."""
        return cls(database_url(db), check_schema=check_schema)

    def _ensure_schema(self, check: bool) -> None:
        """A new store gets the current schema; an existing one must be at it (see mailing/migrate.py)."""
        try:
            version = self.schema_version()
            if version is None:
                try:
                    self._create()
                except (OperationalError, IntegrityError, ProgrammingError):  # another process created it
                    version = self.schema_version()
                    if version is None:
                        raise
            if version is None or not check:
                return
        except OperationalError as exc:
            raise StoreError(f"cannot open store {self.where}: {exc.orig}") from exc
        if version > SCHEMA_VERSION:
            raise StoreError(f"store {self.where} has schema version {version}, this program knows "
                             f"{SCHEMA_VERSION}: install the newer version of mailing that wrote it")
        if version < SCHEMA_VERSION:
            raise StoreError(f"store {self.where} was written by an earlier version (schema {version}, this "
                             f"program needs {SCHEMA_VERSION}): run `mailing db upgrade` (it backs the store up "
                             f"first)")

    def schema_version(self) -> int | None:
        """The store's schema version; None for an empty database."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("meta"):
                return None
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
        return int(row[0]) if row else None

    def _create(self) -> None:
        with self.engine.begin() as conn:
            metadata.create_all(conn, checkfirst=False)
            conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
            conn.execute(insert(clients).values(key=DEFAULT_CLIENT, name=DEFAULT_CLIENT_NAME))
            alembic_version.create(conn)
            conn.execute(insert(alembic_version).values(version_num=f"{SCHEMA_VERSION:04d}"))

    @property
    def where(self) -> str:
        """The store's location for messages: a file path, or the URL without its password."""
        if self.engine.dialect.name == "sqlite" and self.engine.url.database:
            return self.engine.url.database
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: everything inside is committed together or not at all."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


SECRET_KEY = "secret"  # meta key of the store secret


def store_secret(conn: Connection) -> str:
    """The store's secret (hex of 32 random bytes, kept in `meta` under "secret"), made on first use inside
    the caller's transaction. Keys the suppression list's hashes of erased persons (and the web's cookies):
    whoever holds it and a candidate name can test the list, so it never leaves the store."""
    value = read_secret(conn)
    if value is not None:
        return value
    values = {"key": SECRET_KEY, "value": secrets.token_hex(32)}
    if conn.dialect.name in ("sqlite", "postgresql"):
        dialect_insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
        conn.execute(dialect_insert(meta).values(**values).on_conflict_do_nothing(index_elements=["key"]))
    else:
        conn.execute(insert(meta).values(**values))
    return str(conn.execute(select(meta.c.value).where(meta.c.key == SECRET_KEY)).scalar_one())


def read_secret(conn: Connection) -> str | None:
    """The store's secret, or None while none was made (nothing hashed yet)."""
    row = conn.execute(select(meta.c.value).where(meta.c.key == SECRET_KEY)).first()
    return str(row[0]) if row else None


def retryable(exc: Any) -> bool:
    """A write that lost a race with another process (another scanner, a second answer to the same letter):
    a unique constraint, a locked or busy SQLite file, a PostgreSQL deadlock or serialisation failure. The
    caller repeats its transaction, which then finds what the other process recorded."""
    if isinstance(exc, IntegrityError):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return any(w in text for w in ("locked", "busy", "deadlock", "could not serialize", "serialization"))


def new_id(result: Any) -> int:
    """The primary key of the row an INSERT just wrote."""
    key = result.inserted_primary_key
    if key is None:
        raise StoreError("the store returned no key for a new row")
    return int(key[0])


# The person on whose behalf the library acts (a web user); audit lines name them, down to the entries that
# nested steps write (a response recorded, an objection applied). Unset: the operating-system user.
_acting_as: ContextVar[str | None] = ContextVar("mailing_acting_as", default=None)


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    """Audit lines written inside this block name `name` as their actor (None: leave it as it is)."""
    token = _acting_as.set(name) if name else None
    try:
        yield
    finally:
        if token is not None:
            _acting_as.reset(token)


def audit(conn: Connection, action: str, entity: str, entity_id: int | None, detail: str = "",
          actor: str | None = None) -> None:
    """Append one line to the audit log (inside the caller's transaction)."""
    conn.execute(
        insert(audit_log).values(
            actor=actor or _acting_as.get() or os.environ.get("USER", "mailing"),
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=detail,
        )
    )
