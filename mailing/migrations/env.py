"""Alembic environment: migrations run on the connection the store hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from mailing.store import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=False)
with context.begin_transaction():
    context.run_migrations()
