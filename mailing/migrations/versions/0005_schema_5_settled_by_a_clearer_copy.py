"""Schema 5: doubtful boxes settled by a clearer copy of the same coupon (issue 10).

- response_options.settled_by: the scan (a grey rescan of a page first scanned black and white, a second
  copy) that decided a box the counted response had left doubtful;
- review_items.settled_by: the scan that so closed a "doubtful" item;
- scans.bitonal: the page was black and white, so its doubtful boxes are worth a grey rescan (`mailing review
  --rescan` lists such pages).

`runs undo` of the settling scan's run makes those boxes doubtful again and reopens the item. Only columns
that may be empty are added; no table is rebuilt.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _add_reference("response_options", "settled_by", "scans")
    _add_reference("review_items", "settled_by", "scans")
    op.add_column("scans", sa.Column("bitonal", sa.Boolean(), nullable=True))
    op.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")


def _add_reference(table: str, column: str, target: str) -> None:
    """A nullable column referencing target.id (as in 0002 and 0004: SQLite takes the reference in the
    column definition, so no table is rebuilt)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column} INTEGER REFERENCES {target} (id)")
    else:
        op.add_column(table, sa.Column(column, sa.Integer(), sa.ForeignKey(f"{target}.id"), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("stores are never downgraded; restore the backup `db upgrade` took")
