"""Preferences: arena battles, preference pairs (arena votes, kept regenerations, edits) and thumbs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

New tables only; nothing in existing rows changes. References to documents, generations and
battles are SET NULL on delete: a judgement keeps its own copy of the texts, so it stays usable
as training data after the document it came from is deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _document_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["documents.id"], name=f"fk_{table}_{column}_documents", ondelete="SET NULL"
    )


def upgrade() -> None:
    op.create_table(
        "battles",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(), nullable=True),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("target_words", sa.Integer(), nullable=False),
        sa.Column("config_a", sa.JSON(), nullable=False),
        sa.Column("config_b", sa.JSON(), nullable=False),
        sa.Column("document_a_id", sa.String(), nullable=True),
        sa.Column("document_b_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_battles"),
        _document_fk("battles", "document_a_id"),
        _document_fk("battles", "document_b_id"),
    )
    op.create_index("ix_battles_created_at", "battles", ["created_at"])
    op.create_index("ix_battles_user", "battles", ["user"])

    op.create_table(
        "preference_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("verdict", sa.String(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("chosen", sa.Text(), nullable=False),
        sa.Column("rejected", sa.Text(), nullable=False),
        sa.Column("chosen_config", sa.JSON(), nullable=False),
        sa.Column("rejected_config", sa.JSON(), nullable=False),
        sa.Column("chosen_document_id", sa.String(), nullable=True),
        sa.Column("rejected_document_id", sa.String(), nullable=True),
        sa.Column("section_index", sa.Integer(), nullable=True),
        sa.Column("generation_id", sa.Integer(), nullable=True),
        sa.Column("battle_id", sa.String(), nullable=True),
        sa.Column("vote", sa.String(), nullable=True),
        sa.Column("chosen_words", sa.Integer(), nullable=False),
        sa.Column("rejected_words", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_preference_pairs"),
        _document_fk("preference_pairs", "chosen_document_id"),
        _document_fk("preference_pairs", "rejected_document_id"),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["generations.id"],
            name="fk_preference_pairs_generation_id_generations",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["battle_id"], ["battles.id"], name="fk_preference_pairs_battle_id_battles", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_preference_pairs_battle_id", "preference_pairs", ["battle_id"])
    op.create_index("ix_preference_pairs_created_at", "preference_pairs", ["created_at"])
    op.create_index("ix_preference_pairs_source", "preference_pairs", ["source"])
    op.create_index("ix_preference_pairs_user", "preference_pairs", ["user"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(), nullable=True),
        sa.Column("document_id", sa.String(), nullable=True),
        sa.Column("section_index", sa.Integer(), nullable=True),
        sa.Column("label", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("completion", sa.Text(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=True),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
        _document_fk("feedback", "document_id"),
        sa.ForeignKeyConstraint(
            ["generation_id"], ["generations.id"], name="fk_feedback_generation_id_generations", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_feedback_created_at", "feedback", ["created_at"])
    op.create_index("ix_feedback_document_id", "feedback", ["document_id"])
    op.create_index("ix_feedback_user", "feedback", ["user"])


def downgrade() -> None:
    op.drop_index("ix_feedback_user", table_name="feedback")
    op.drop_index("ix_feedback_document_id", table_name="feedback")
    op.drop_index("ix_feedback_created_at", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_preference_pairs_user", table_name="preference_pairs")
    op.drop_index("ix_preference_pairs_source", table_name="preference_pairs")
    op.drop_index("ix_preference_pairs_created_at", table_name="preference_pairs")
    op.drop_index("ix_preference_pairs_battle_id", table_name="preference_pairs")
    op.drop_table("preference_pairs")
    op.drop_index("ix_battles_user", table_name="battles")
    op.drop_index("ix_battles_created_at", table_name="battles")
    op.drop_table("battles")
