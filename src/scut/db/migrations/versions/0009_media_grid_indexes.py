"""Index occurrences by exhibit and by verdict in media id order, for the media grid.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 22:45:00

The grid lists media in id order, a page at a time. With a submission,
case or verdict filter it reads the occurrences of each exhibit, or of
the verdict, from these indexes, already in media id order. Measured on
the database that bench/web_grid_bench.py writes (100,000 media, SQLite
3.40, one run of each query on a shared two-core machine): the page query
of one submission's uncategorised pictures took 78 ms without the
exhibit index and under 1 ms with it, and the page query of known media
22 ms without the verdict index (a sort of every known occurrence) and
under 1 ms with it. On PostgreSQL 15 each exhibit's query became an
ordered index scan of 0.3 ms. The new verdict index replaces the one on
the verdict alone, which is its prefix.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_occurrences_exhibit_id_media_id",
        "occurrences",
        ["exhibit_id", "media_id"],
    )
    op.create_index(
        "ix_occurrences_verdict_media_id", "occurrences", ["verdict", "media_id"]
    )
    op.drop_index("ix_occurrences_verdict", table_name="occurrences")


def downgrade() -> None:
    op.create_index("ix_occurrences_verdict", "occurrences", ["verdict"])
    op.drop_index("ix_occurrences_verdict_media_id", table_name="occurrences")
    op.drop_index("ix_occurrences_exhibit_id_media_id", table_name="occurrences")
