"""Backends: one streaming protocol, engines found by name in the ``longwriter.backends`` entry points.

Nothing above this package knows which backend runs; :func:`create_backend` builds the one the
settings name (:mod:`longwriter.backends.registry`), and a new engine is a plugin, not an edit here.
"""

from __future__ import annotations

from longwriter.backends.base import Backend, BackendError, GenerationRequest, estimate_tokens
from longwriter.backends.registry import backend_names, create_backend

__all__ = ["Backend", "BackendError", "GenerationRequest", "backend_names", "create_backend", "estimate_tokens"]
