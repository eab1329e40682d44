"""Documents, sections and generations.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(), nullable=True),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("target_words", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("backend", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("plan_raw", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("length_score", sa.Float(), nullable=True),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("parent_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_documents"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["documents.id"], name="fk_documents_parent_id_documents", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_documents_updated_at", "documents", ["updated_at"])
    op.create_index("ix_documents_user", "documents", ["user"])

    op.create_table(
        "sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("main_point", sa.Text(), nullable=False),
        sa.Column("target_words", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sections"),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_sections_document_id_documents", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("document_id", "index", name="uq_sections_document_id_index"),
    )

    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(), nullable=False),
        sa.Column("section_index", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("backend", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("stop_reason", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_generations"),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name="fk_generations_document_id_documents", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_generations_document_id", "generations", ["document_id"])


def downgrade() -> None:
    op.drop_table("generations")
    op.drop_table("sections")
    op.drop_index("ix_documents_user", table_name="documents")
    op.drop_index("ix_documents_updated_at", table_name="documents")
    op.drop_table("documents")
