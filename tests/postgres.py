"""A throwaway PostgreSQL server for the store and load tests: Debian's binaries, a Unix socket.

Missing PostgreSQL (or psycopg) is a skip on a developer's machine and a failure under ``CI=true``,
where ``make test`` installs it (scripts/install.sh) and the PostgreSQL tests must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} — CI must run the PostgreSQL tests (scripts/install.sh dev installs PostgreSQL).")
    pytest.skip(reason)


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    return next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A fresh cluster for the ``with`` block; yields its SQLAlchemy URL (database ``postgres``)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed")
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        _unavailable("PostgreSQL is not installed")
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="longwriter-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]

    def pg(*args: str) -> None:
        subprocess.run([*run_as, str(bin_dir / args[0]), *args[1:]], check=True, capture_output=True)

    data = str(root / "data")
    try:
        pg("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        pg("pg_ctl", "-D", data, "-w", "-l", str(root / "log"), "-o", f"-k {root} -c listen_addresses='' -F", "start")
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(f"PostgreSQL could not be started: {getattr(exc, 'stderr', b'') or exc}")
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={root}"
    finally:
        pg("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
