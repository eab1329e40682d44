"""``longwriter export dpo|kto``: the stored judgements as TRL datasets (JSONL, a datasets folder, the Hub).

Mounted on the main command as ``app.add_typer(export_app, name="export")``. With no destination
the JSONL goes to ``<data dir>/exports/``. The files load with ``datasets.load_dataset("json", …)``
and go to ``DPOTrainer`` / ``KTOTrainer`` as they are.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from longwriter.preferences import (
    SOURCES,
    ExportResult,
    Filters,
    PreferenceError,
    dpo_records,
    export,
    feedback,
    kto_records,
    pairs,
)
from longwriter.settings import get_settings
from longwriter.store import Store, StoreError
from longwriter.terminal import console, fail

export_app = typer.Typer(
    help="Export preference data (arena votes, kept regenerations, edits, thumbs) for TRL.", no_args_is_help=True
)

OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="JSONL file to write")]
DiskOpt = Annotated[Path | None, typer.Option("--to-disk", help="save a datasets dataset in this folder")]
HubOpt = Annotated[str | None, typer.Option("--push-to-hub", help="upload a datasets dataset to this Hub repo")]
PublicOpt = Annotated[bool, typer.Option("--public", help="make the Hub dataset public (private by default)")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="conversational (messages) or standard (strings)")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="from this date or ISO time (inclusive)")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="up to this date or ISO time (inclusive)")]
UserOpt = Annotated[str | None, typer.Option("--user", help="only this user's judgements")]
MinWordsOpt = Annotated[int, typer.Option("--min-words", help="minimum words of every text", min=0)]
MetaOpt = Annotated[bool, typer.Option("--metadata", help="add provenance columns (ids, source, configurations)")]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="defaults to LONGWRITER_DATABASE_URL / data dir")]


def _when(value: str | None, option: str) -> datetime | date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date (2026-11-22) or an ISO time (2026-11-22T18:30).") from None


def _open(database_url: str | None) -> tuple[Store, Path]:
    settings = get_settings(database_url=database_url)
    try:
        return Store.from_settings(settings), settings.exports_dir
    except StoreError as exc:
        raise fail(str(exc)) from None


def _check_format(fmt: str) -> None:
    if fmt not in ("conversational", "standard"):
        raise fail(f"--format must be conversational or standard, not {fmt!r}.")


def _run(
    records: list[dict],
    out: Path | None,
    to_disk: Path | None,
    hub: str | None,
    public: bool,
    default_name: str,
    exports_dir: Path,
    what: str,
) -> ExportResult:
    if not records:
        raise fail(f"No {what} match these filters; nothing was written.")
    if out is None and to_disk is None and hub is None:
        out = exports_dir / f"{default_name}-{datetime.now():%Y%m%d-%H%M%S}.jsonl"
    try:
        result = export(records, out=out, to_disk=to_disk, hub_repo=hub, private=not public)
    except (PreferenceError, OSError) as exc:
        raise fail(str(exc)) from None
    for where in (result.jsonl, result.folder):
        if where is not None:
            console.print(f"Wrote {result.count} {what} to {where}")
    if result.hub:
        console.print(f"Uploaded {result.count} {what} to https://huggingface.co/datasets/{result.hub}")
    return result


@export_app.command("dpo")
def dpo(
    out: OutOpt = None,
    to_disk: DiskOpt = None,
    push_to_hub: HubOpt = None,
    public: PublicOpt = False,
    fmt: FormatOpt = "conversational",
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help=f"only these sources ({', '.join(SOURCES)}); repeatable")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    user: UserOpt = None,
    min_words: MinWordsOpt = 0,
    include_ties: Annotated[bool, typer.Option("--include-ties", help="keep arena ties (side A as chosen)")] = False,
    include_both_bad: Annotated[bool, typer.Option("--include-both-bad", help="keep 'both bad' votes")] = False,
    all_edits: Annotated[
        bool, typer.Option("--all-edits", help="every recorded edit, not only the latest of each text")
    ] = False,
    metadata: MetaOpt = False,
    database_url: DbOpt = None,
) -> None:
    """Preference pairs in TRL's format: prompt, chosen, rejected (for DPOTrainer)."""
    _check_format(fmt)
    try:
        filters = Filters(
            sources=source or None,
            since=_when(since, "--since"),
            until=_when(until, "--until"),
            user=user,
            min_words=min_words,
            include_ties=include_ties,
            include_both_bad=include_both_bad,
            latest_edit_only=not all_edits,
        )
    except PreferenceError as exc:
        raise fail(str(exc)) from None
    store, exports_dir = _open(database_url)
    try:
        records = dpo_records(pairs(store, filters), format=fmt, metadata=metadata)  # type: ignore[arg-type]
    finally:
        store.close()
    _run(records, out, to_disk, push_to_hub, public, "dpo", exports_dir, "pairs")


@export_app.command("kto")
def kto(
    out: OutOpt = None,
    to_disk: DiskOpt = None,
    push_to_hub: HubOpt = None,
    public: PublicOpt = False,
    fmt: FormatOpt = "conversational",
    since: SinceOpt = None,
    until: UntilOpt = None,
    user: UserOpt = None,
    min_words: MinWordsOpt = 0,
    with_pairs: Annotated[
        bool,
        typer.Option("--with-pairs", help="also split every preference pair into a desirable and an undesirable row"),
    ] = False,
    metadata: MetaOpt = False,
    database_url: DbOpt = None,
) -> None:
    """Thumbs up/down as TRL's unpaired preference format: prompt, completion, label (for KTOTrainer)."""
    _check_format(fmt)
    filters = Filters(since=_when(since, "--since"), until=_when(until, "--until"), user=user, min_words=min_words)
    store, exports_dir = _open(database_url)
    try:
        extra = pairs(store, filters) if with_pairs else []
        records = kto_records(
            feedback(store, filters),
            format=fmt,
            metadata=metadata,
            pairs_too=extra,  # type: ignore[arg-type]
        )
    finally:
        store.close()
    _run(records, out, to_disk, push_to_hub, public, "kto", exports_dir, "labels")
