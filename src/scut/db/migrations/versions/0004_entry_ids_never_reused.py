"""Never reuse hash entry ids on SQLite.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 18:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite gives a deleted row's id to the next insert unless the table
    # is AUTOINCREMENT, which needs the table rebuilt. PostgreSQL sequences
    # never reuse ids, so there this changes nothing.
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "hash_entries",
        recreate="always",
        table_kwargs={"sqlite_autoincrement": True},
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "hash_entries",
        recreate="always",
        table_kwargs={"sqlite_autoincrement": False},
    ):
        pass
