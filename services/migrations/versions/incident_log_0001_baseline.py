"""The incident log's read models and the projection's tracking, as they were before
migrations.

Revision ID: incident_log_0001
Revises:
Created: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "incident_log_0001"
down_revision = None
branch_labels = ("incident_log",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_log_entries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("stream_version", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("occurred_at", sa.BigInteger, nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("source", "stream_id", "stream_version", name="uq_log_stream_version"),
    )
    op.create_index("ix_log_incident_time", "incident_log_entries", ["incident_id", "occurred_at"])
    op.create_table(
        "incident_summaries",
        sa.Column("incident_id", sa.String(64), primary_key=True),
        sa.Column("incident_type", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("alarm_level", sa.Integer, nullable=False),
        sa.Column("latitude", sa.Float),
        sa.Column("longitude", sa.Float),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("opened_at", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.BigInteger, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("last_event_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_summaries_opened", "incident_summaries", ["opened_at"])
    op.create_table(
        "projection_tracking",
        sa.Column("projection", sa.String(100), primary_key=True),
        sa.Column("source", sa.String(50), primary_key=True),
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "parked_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("projection", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("parked_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "parked_messages",
        "projection_tracking",
        "incident_summaries",
        "incident_log_entries",
    ):
        op.drop_table(table)
