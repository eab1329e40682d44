"""Evaluation runs, their items and pairwise judgements.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_eval_runs"),
    )
    with op.batch_alter_table("eval_runs") as batch_op:
        batch_op.create_index("ix_eval_runs_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_eval_runs_fingerprint", ["fingerprint"], unique=False)

    op.create_table(
        "eval_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("config", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("required_words", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("length_score", sa.Float(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("judgement", sa.JSON(), nullable=True),
        sa.Column("quality", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_eval_items_document_id_documents", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["eval_runs.id"], name="fk_eval_items_run_id_eval_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_eval_items"),
        sa.UniqueConstraint("run_id", "key", name="uq_eval_items_run_id_key"),
    )

    op.create_table(
        "eval_comparisons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("config_a", sa.String(), nullable=False),
        sa.Column("config_b", sa.String(), nullable=False),
        sa.Column("judge", sa.String(), nullable=False),
        sa.Column("winner", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["eval_runs.id"], name="fk_eval_comparisons_run_id_eval_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_eval_comparisons"),
        sa.UniqueConstraint(
            "run_id", "item_id", "config_a", "config_b", name="uq_eval_comparisons_run_id_item_id_config_a_config_b"
        ),
    )


def downgrade() -> None:
    op.drop_table("eval_comparisons")
    op.drop_table("eval_items")
    with op.batch_alter_table("eval_runs") as batch_op:
        batch_op.drop_index("ix_eval_runs_fingerprint")
        batch_op.drop_index("ix_eval_runs_created_at")
    op.drop_table("eval_runs")
