"""Schema 2: trustworthy numbers (issue 9).

- imports: the file's SHA-256 (the same file imported again is named) and the rows left out because the
  record was already in the campaign; indexes to find both quickly;
- waves: the campaign text a wave was planned with and the folder it was produced into (a reprint is
  byte-identical; a changed campaign file never changes a wave in progress);
- scan_runs: every `scan` is a run that `runs undo` can take back; scans point at their run and at the
  suppression entry their opt-out or returned letter added.

Only columns that may be empty are added, so the store's existing rows stay as they were; no table is
rebuilt (SQLite's ALTER TABLE ADD COLUMN, with the foreign key in the column definition).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("returned_mail", sa.Boolean(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), server_default="0", nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("imports", sa.Column("content_sha256", sa.String(length=64), nullable=True))
    op.add_column("imports", sa.Column("already_present", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_imports_content", "imports", ["campaign_id", "content_sha256"], unique=False)
    op.create_index("ix_recipients_customer", "recipients", ["campaign_id", "customer_id"], unique=False)
    _add_reference("scans", "run_id", "scan_runs")
    _add_reference("scans", "suppression_id", "suppression")
    op.add_column("waves", sa.Column("config_toml", sa.Text(), nullable=True))
    op.add_column("waves", sa.Column("out_dir", sa.Text(), nullable=True))
    op.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable column referencing target.id. SQLite adds it with the reference in the column definition
    (Alembic would rebuild the table for the constraint); other databases add column and constraint."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), sa.ForeignKey(f"{target}.id"), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded; restore the backup `db upgrade` took")
