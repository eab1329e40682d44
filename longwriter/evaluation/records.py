"""Evaluation rows in the app's database: runs, items and pairwise comparisons.

Like :class:`longwriter.store.Store`, every call is one short committed transaction, so an item's
result is durable the moment it is known and an interrupted run loses at most the item in flight.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from longwriter.store import Document, Store
from longwriter.store.models import EvalComparison, EvalItem, EvalRun, utcnow


class EvalRecords:
    """Reads and writes the evaluation tables of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- runs ---------------------------------------------------------------------------------------

    def create_run(self, run: EvalRun, items: list[EvalItem]) -> EvalRun:
        with self.store.session() as session:
            session.add(run)
            session.flush()
            for item in items:
                item.run_id = run.id
                session.add(item)
        return run

    def find_run(self, kind: str, fingerprint: str) -> EvalRun | None:
        """The newest run of ``kind`` with this fingerprint (same items and generation settings)."""
        query = (
            select(EvalRun)
            .where(EvalRun.kind == kind, EvalRun.fingerprint == fingerprint)
            .order_by(col(EvalRun.created_at).desc())
        )
        with self.store.session() as session:
            return session.exec(query).first()

    def run(self, run_id: str) -> EvalRun | None:
        with self.store.session() as session:
            return session.get(EvalRun, run_id)

    def runs(self, kind: str | None = None, limit: int = 50) -> list[EvalRun]:
        """Runs, newest first."""
        query = select(EvalRun).order_by(col(EvalRun.created_at).desc()).limit(limit)
        if kind is not None:
            query = query.where(EvalRun.kind == kind)
        with self.store.session() as session:
            return list(session.exec(query).all())

    def update_run(self, run_id: str, **fields: Any) -> EvalRun:
        with self.store.session() as session:
            run = session.get(EvalRun, run_id)
            if run is None:
                raise LookupError(f"There is no evaluation run {run_id}.")
            for name, value in fields.items():
                setattr(run, name, value)
            run.updated_at = utcnow()
            return run

    def delete_run(self, run_id: str) -> bool:
        """Delete a run with its items and comparisons (the documents it wrote stay in the library)."""
        with self.store.session() as session:
            run = session.get(EvalRun, run_id)
            if run is None:
                return False
            for model in (EvalItem, EvalComparison):
                for row in session.exec(select(model).where(model.run_id == run_id)):
                    session.delete(row)
            session.delete(run)
            return True

    # -- items --------------------------------------------------------------------------------------

    def items(self, run_id: str) -> list[EvalItem]:
        """The run's items in their order."""
        query = select(EvalItem).where(EvalItem.run_id == run_id).order_by(col(EvalItem.position), col(EvalItem.id))
        with self.store.session() as session:
            return list(session.exec(query).all())

    def update_item(self, item_id: int | None, **fields: Any) -> EvalItem:
        with self.store.session() as session:
            item = session.get(EvalItem, item_id)
            if item is None:
                raise LookupError(f"There is no evaluation item {item_id}.")
            for name, value in fields.items():
                setattr(item, name, value)
            item.updated_at = utcnow()
            return item

    def label_document(self, doc_id: str, title: str) -> None:
        """Give a document written by an evaluation a title that says so in the library."""
        with self.store.session() as session:
            doc = session.get(Document, doc_id)
            if doc is not None:
                doc.title = title

    # -- comparisons --------------------------------------------------------------------------------

    def comparisons(self, run_id: str) -> list[EvalComparison]:
        query = select(EvalComparison).where(EvalComparison.run_id == run_id).order_by(col(EvalComparison.id))
        with self.store.session() as session:
            return list(session.exec(query).all())

    def save_comparison(self, row: EvalComparison) -> EvalComparison:
        """Insert the comparison, replacing an earlier one of the same item, pair and order."""
        with self.store.session() as session:
            existing = session.exec(
                select(EvalComparison).where(
                    EvalComparison.run_id == row.run_id,
                    EvalComparison.item_id == row.item_id,
                    EvalComparison.config_a == row.config_a,
                    EvalComparison.config_b == row.config_b,
                )
            ).first()
            if existing is not None:
                session.delete(existing)
                session.flush()
            session.add(row)
            session.flush()
            return row
