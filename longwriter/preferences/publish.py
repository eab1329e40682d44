"""Writing exported records: JSONL, a ``datasets`` folder, a Hub dataset."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longwriter.preferences.rows import PreferenceError

if TYPE_CHECKING:
    from datasets import Dataset


def write_jsonl(records: Sequence[dict[str, Any]], path: Path) -> Path:
    """Write one JSON object per line (UTF-8), atomically: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def to_dataset(records: Sequence[dict[str, Any]]) -> Dataset:
    """The records as a ``datasets.Dataset`` (needs the ``train`` extra)."""
    try:
        from datasets import Dataset
    except ImportError as exc:  # pragma: no cover - the train extra is installed in development
        raise PreferenceError(
            "Saving a dataset needs the 'datasets' package: pip install 'longwriter-studio[train]'"
        ) from exc
    if not records:
        raise PreferenceError("Nothing to export: no judgements match the filters.")
    return Dataset.from_list(list(records))


def push_to_hub(dataset: Dataset, repo_id: str, private: bool = True, token: str | None = None) -> None:
    """Upload ``dataset`` to the Hugging Face Hub (the only call here that leaves the machine)."""
    dataset.push_to_hub(repo_id, private=private, token=token)


@dataclass
class ExportResult:
    """What an export wrote."""

    count: int
    jsonl: Path | None = None
    folder: Path | None = None
    hub: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)


def export(
    records: list[dict[str, Any]],
    out: Path | None = None,
    to_disk: Path | None = None,
    hub_repo: str | None = None,
    private: bool = True,
) -> ExportResult:
    """Write ``records`` as JSONL, a ``datasets`` folder and/or a Hub dataset."""
    result = ExportResult(count=len(records), records=records)
    if out is not None:
        result.jsonl = write_jsonl(records, out)
    if to_disk is not None or hub_repo is not None:
        dataset = to_dataset(records)
        if to_disk is not None:
            dataset.save_to_disk(str(to_disk))
            result.folder = Path(to_disk)
        if hub_repo is not None:
            push_to_hub(dataset, hub_repo, private=private)
            result.hub = hub_repo
    return result
