"""Schema 3: data subjects' rights (issue 13) and what came with this release.

- recipients: when erase or purge blanked a record, and the suppression entry that keeps it suppressed;
- suppression: keyed hashes (HMAC-SHA256 with the store's secret) over the customer id, the match key and the
  match key with the first name or its initial, so an erased person is never mailed again while nothing
  readable of them stays;
- web_sessions: one login to the web front end (issue 11), so a logout ends it for every server process;
- users: the review station's operators and admins (argon2id hashes); review_items: who holds an item and
  until when, so two operators never get the same one;
- waves: the SHA-256 of the logo, signature and enclosure files a wave was first produced with (issue 12),
  so a reprint refuses changed assets instead of printing something else;
- consents: a "call me" as the explicit consent a telephone call needs (issue 14), with day, channel and
  source, and its withdrawal; waves: how many recipients the contact cap held back;
- recipient_segments: extra columns of the address file a campaign names (customer group, revenue class, ...)
  for the report's segment sheet; imports: the earlier campaign an audience was taken from, and how many rows
  the suppression list kept out (issue 14);
- scans: the picture of the telephone number written on a coupon offering a call-back (issue 10), for the
  call list.

Only columns that may be empty are added; no table is rebuilt.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("recipients", sa.Column("erased_at", sa.DateTime(), nullable=True))
    op.add_column("recipients", sa.Column("suppression_id", sa.Integer(), nullable=True))
    for column in ("customer_hash", "key_hash", "first_name_hash", "initial_hash"):
        op.add_column("suppression", sa.Column(column, sa.String(length=64), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.add_column("review_items", sa.Column("claimed_by", sa.String(length=100), nullable=True))
    op.add_column("review_items", sa.Column("claimed_until", sa.DateTime(), nullable=True))
    op.add_column("waves", sa.Column("assets_sha256", sa.Text(), nullable=True))
    op.add_column("scans", sa.Column("phone_snippet", sa.LargeBinary(), nullable=True))
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), server_default="call", nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("given_on", sa.Date(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"]),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.ForeignKeyConstraint(["response_id"], ["responses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient_id", "kind", "response_id", name="uq_consent_once"),
    )
    op.add_column("waves", sa.Column("capped", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "recipient_segments",
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["recipient_id"], ["recipients.id"]),
        sa.PrimaryKeyConstraint("recipient_id", "key"),
    )
    _add_reference("imports", "from_campaign_id", "campaigns")
    op.add_column("imports", sa.Column("suppressed", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable column referencing target.id (as in 0002: SQLite takes the reference in the column
    definition, so no table is rebuilt)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), sa.ForeignKey(f"{target}.id"), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded; restore the backup `db upgrade` took")
