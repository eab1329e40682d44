"""Storage, the app's memory: documents, plans, sections and generations as rows the moment they exist.

``Store`` is the only way in; ``record`` persists a writer's event stream as it passes through.
See :mod:`longwriter.store.migrate` for how the schema evolves.
"""

from longwriter.store.engine import StoreError, make_engine
from longwriter.store.migrate import upgrade
from longwriter.store.models import (
    Battle,
    Document,
    EvalComparison,
    EvalItem,
    EvalRun,
    Feedback,
    Generation,
    PreferencePair,
    Section,
)
from longwriter.store.recorder import record
from longwriter.store.repo import NotFound, Store

__all__ = [
    "Battle",
    "Document",
    "EvalComparison",
    "EvalItem",
    "EvalRun",
    "Feedback",
    "Generation",
    "NotFound",
    "PreferencePair",
    "Section",
    "Store",
    "StoreError",
    "make_engine",
    "record",
    "upgrade",
]
