"""Schema 4: several clients (Mandanten) in one store (issue 13).

- clients: the companies an agency or lettershop mails for (key, display name, created);
- campaigns: the client each campaign belongs to;
- suppression: the client in whose name an entry was recorded (its customer id is that client's; an
  objection binds that client only, Robinson, undeliverable, deceased and erased entries bind all);
- user_clients: the clients a web user may see (a user without rows sees all).

An older store holds the campaigns of one company: they all go to the client `default` ("Standard"), made
here, together with every suppression entry and every user (a user listed for every client of the store sees
what they saw before). Only columns that may be empty are added; no table is rebuilt.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DEFAULT_CLIENT = "default"  # as mailing.store.DEFAULT_CLIENT, written out: a migration never changes later
DEFAULT_CLIENT_NAME = "Standard"


def upgrade() -> None:
    clients = op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "user_clients",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "client_id"),
    )
    _add_reference("campaigns", "client_id", "clients")
    _add_reference("suppression", "client_id", "clients")
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(clients, [{"key": DEFAULT_CLIENT, "name": DEFAULT_CLIENT_NAME, "created_at": now}])
    default = f"(SELECT id FROM clients WHERE key = '{DEFAULT_CLIENT}')"
    op.execute(f"UPDATE campaigns SET client_id = {default}")
    op.execute(f"UPDATE suppression SET client_id = {default}")
    op.execute(f"INSERT INTO user_clients (user_id, client_id) SELECT id, {default} FROM users")
    op.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable column referencing target.id (as in 0002: SQLite takes the reference in the column
    definition, so no table is rebuilt)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), sa.ForeignKey(f"{target}.id"), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded; restore the backup `db upgrade` took")
