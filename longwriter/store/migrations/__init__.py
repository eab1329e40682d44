"""Alembic scripts for the store's schema; run them through :mod:`longwriter.store.migrate`."""
