"""Judgements as TRL rows: DPO preference records and KTO unpaired records.

:func:`dpo_records` gives TRL's conversational or standard preference format, :func:`kto_records`
prompt / completion / label; both can add provenance columns, which TRL's trainers ignore.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from longwriter.preferences.rows import PreferenceError
from longwriter.store import Feedback, PreferencePair

Format = Literal["conversational", "standard"]


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _pair_metadata(pair: PreferencePair) -> dict[str, Any]:
    return {
        "id": pair.id,
        "source": pair.source,
        "verdict": pair.verdict,
        "user": pair.user,
        "created_at": pair.created_at.isoformat(),
        "chosen_config": json.dumps(pair.chosen_config),
        "rejected_config": json.dumps(pair.rejected_config),
        "chosen_document_id": pair.chosen_document_id,
        "rejected_document_id": pair.rejected_document_id,
        "section_index": pair.section_index,
        "battle_id": pair.battle_id,
    }


def dpo_records(
    rows: Sequence[PreferencePair], format: Format = "conversational", metadata: bool = False
) -> list[dict[str, Any]]:
    """TRL preference rows: conversational (prompt as a user message, chosen and rejected as assistant
    messages) or standard (three plain strings). ``metadata`` adds provenance columns (ids, source,
    configurations as JSON strings), which TRL's trainers ignore."""
    records = []
    for pair in rows:
        if format == "conversational":
            record: dict[str, Any] = {
                "prompt": _user(pair.prompt),
                "chosen": _assistant(pair.chosen),
                "rejected": _assistant(pair.rejected),
            }
        elif format == "standard":
            record = {"prompt": pair.prompt, "chosen": pair.chosen, "rejected": pair.rejected}
        else:
            raise PreferenceError(f"Unknown format {format!r}; choose conversational or standard.")
        if metadata:
            record.update(_pair_metadata(pair))
        records.append(record)
    return records


def kto_records(
    rows: Sequence[Feedback],
    format: Format = "conversational",
    metadata: bool = False,
    pairs_too: Sequence[PreferencePair] = (),
) -> list[dict[str, Any]]:
    """TRL unpaired preference rows ``{prompt, completion, label}`` from thumbs, optionally followed by
    ``pairs_too`` split into a desirable (chosen) and an undesirable (rejected) row each."""
    units: list[tuple[str, str, bool, dict[str, Any]]] = []
    for item in rows:
        meta = {
            "id": item.id,
            "source": "thumbs",
            "user": item.user,
            "created_at": item.created_at.isoformat(),
            "document_id": item.document_id,
            "section_index": item.section_index,
            "reason": item.reason or "",
        }
        units.append((item.prompt, item.completion, item.label, meta))
    for pair in pairs_too:
        meta = {
            "id": pair.id,
            "source": pair.source,
            "user": pair.user,
            "created_at": pair.created_at.isoformat(),
            "document_id": pair.chosen_document_id,
            "section_index": pair.section_index,
            "reason": "",
        }
        units.append((pair.prompt, pair.chosen, True, meta))
        units.append((pair.prompt, pair.rejected, False, {**meta, "document_id": pair.rejected_document_id}))
    records = []
    for prompt, completion, label, meta in units:
        if format == "conversational":
            record: dict[str, Any] = {"prompt": _user(prompt), "completion": _assistant(completion), "label": label}
        elif format == "standard":
            record = {"prompt": prompt, "completion": completion, "label": label}
        else:
            raise PreferenceError(f"Unknown format {format!r}; choose conversational or standard.")
        if metadata:
            record.update(meta)
        records.append(record)
    return records
