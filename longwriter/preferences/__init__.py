"""Every judgement a user makes, kept as training data in TRL's formats.

Four sources, all stored as append-only rows (:class:`~longwriter.store.PreferencePair` for
pairs, :class:`~longwriter.store.Feedback` for thumbs) that keep who, when, the full prompt, both
texts, the configurations with their sampling parameters, and the document and section ids:

1. **Arena** (the Chatbot Arena way): one instruction written by two configurations drawn at
   random from the ones the user enabled, on random sides under neutral names; a vote (A better,
   B better, tie, both bad) is only accepted once both documents finished. The pair's prompt is
   the instruction with its length made explicit (:func:`longwriter.prompts.single_prompt`).
2. **Section regenerate**: the kept and the discarded version of a section, whose prompt is the
   section's exact write prompt as recorded in its generation row — what the model sees in AgentWrite.
3. **Edits**: the user's text preferred over the model's, recorded when the share of changed words
   reaches ``Settings.edit_pair_threshold`` (a typo fix is not a preference).
4. **Thumbs** on a section or a whole document: unpaired KTO labels with an optional reason.

Exports: :func:`dpo_records` (TRL's conversational or standard preference format) and
:func:`kto_records` (prompt / completion / label), as JSONL, a ``datasets`` folder or a Hub dataset.
Ratings of the arena's configurations come from :func:`arena_outcomes` and :mod:`longwriter.ratings`.

The rooms: :mod:`.arena` (battles and votes), :mod:`.judgements` (kept regenerations, edits,
thumbs), :mod:`.selection` (export filters), :mod:`.trl_format` (TRL rows), :mod:`.publish`
(JSONL, datasets, Hub), :mod:`.counts` (the Data tab's summary) and :mod:`.rows` (how a judgement
is stored). This package exports their public names.
"""

from longwriter.preferences.arena import (
    SIDE_NAMES,
    VOTES,
    ArenaConfig,
    arena_configs,
    arena_outcomes,
    draw_pair,
    finish_battle,
    get_battle,
    run_battle,
    start_battle,
    stop_battle,
    vote,
)
from longwriter.preferences.counts import counts
from longwriter.preferences.judgements import (
    changed_share,
    keep_section_version,
    record_edit,
    record_section_choice,
    record_thumb,
)
from longwriter.preferences.publish import ExportResult, export, push_to_hub, to_dataset, write_jsonl
from longwriter.preferences.rows import SOURCES, PreferenceError
from longwriter.preferences.selection import Filters, feedback, pairs
from longwriter.preferences.trl_format import Format, dpo_records, kto_records

__all__ = [
    "SIDE_NAMES",
    "SOURCES",
    "VOTES",
    "ArenaConfig",
    "ExportResult",
    "Filters",
    "Format",
    "PreferenceError",
    "arena_configs",
    "arena_outcomes",
    "changed_share",
    "counts",
    "dpo_records",
    "draw_pair",
    "export",
    "feedback",
    "finish_battle",
    "get_battle",
    "keep_section_version",
    "kto_records",
    "pairs",
    "push_to_hub",
    "record_edit",
    "record_section_choice",
    "record_thumb",
    "run_battle",
    "start_battle",
    "stop_battle",
    "to_dataset",
    "vote",
    "write_jsonl",
]
