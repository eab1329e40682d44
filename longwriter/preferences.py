"""Every judgement a user makes, kept as training data in TRL's formats.

Four sources, all stored as append-only rows (:class:`~longwriter.store.PreferencePair` for
pairs, :class:`~longwriter.store.Feedback` for thumbs) that keep who, when, the full prompt, both
texts, the configurations with their sampling parameters, and the document and section ids:

1. **Arena** (the Chatbot Arena way): one instruction written by two configurations drawn at
   random from the ones the user enabled, on random sides under neutral names; a vote (A better,
   B better, tie, both bad) is only accepted once both documents finished. The pair's prompt is
   the instruction with its length made explicit (:func:`longwriter.agentwrite.single_prompt`).
2. **Section regenerate**: the kept and the discarded version of a section, whose prompt is the
   section's exact write prompt as recorded in its generation row — what the model sees in AgentWrite.
3. **Edits**: the user's text preferred over the model's, recorded when the share of changed words
   reaches ``Settings.edit_pair_threshold`` (a typo fix is not a preference).
4. **Thumbs** on a section or a whole document: unpaired KTO labels with an optional reason.

Exports: :func:`dpo_records` (TRL's conversational or standard preference format) and
:func:`kto_records` (prompt / completion / label), as JSONL, a ``datasets`` folder or a Hub dataset.
Ratings of the arena's configurations come from :func:`arena_outcomes` and :mod:`longwriter.ratings`.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import func
from sqlmodel import col, select

from longwriter.agentwrite import MODES, single_prompt
from longwriter.catalog import ModelSpec
from longwriter.events import Event, Failed
from longwriter.ratings import Battle as RatedBattle
from longwriter.store import Battle, Document, Feedback, Generation, NotFound, PreferencePair, Store
from longwriter.store.models import PairSource, Vote, utcnow
from longwriter.text import count_words

if TYPE_CHECKING:
    from datasets import Dataset

    from longwriter.settings import Settings
    from longwriter.studio import Studio

Side = Literal["a", "b"]
Format = Literal["conversational", "standard"]
VOTES: tuple[Vote, ...] = ("a", "b", "tie", "both_bad")
SOURCES: tuple[PairSource, ...] = ("arena", "regenerate", "edit")
SIDE_NAMES = {"a": "Model A", "b": "Model B"}
"""The neutral names the arena shows until the vote."""

SAMPLING_PRESETS: dict[str, dict[str, float]] = {
    "default": {},
    "focused": {"temperature": 0.3, "top_p": 0.8},
    "creative": {"temperature": 1.0, "top_p": 0.95},
}
"""Named sampling overrides on top of each model's catalog defaults ("default" is the catalog's own)."""

_WRITE_KINDS = ("section", "regenerate", "single")  # generations that wrote a section from its prompt
_MODEL_KINDS = (*_WRITE_KINDS, "continue")  # every generation whose output is the section's model text


class PreferenceError(ValueError):
    """A judgement that cannot be recorded (unfinished battle, unknown vote, nothing to compare); for the user."""


# -- configurations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArenaConfig:
    """One contestant: a model (built-in or a trained checkpoint), a writing mode and a sampling preset."""

    model: str
    mode: str = "agentwrite"
    preset: str = "default"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PreferenceError(f"Unknown mode {self.mode!r}; choose one of {', '.join(MODES)}.")
        if self.preset not in SAMPLING_PRESETS:
            raise PreferenceError(
                f"Unknown sampling preset {self.preset!r}; choose one of {', '.join(SAMPLING_PRESETS)}."
            )

    @property
    def label(self) -> str:
        """The name shown on the leaderboard and revealed after a vote."""
        return f"{self.model} · {self.mode} · {self.preset}"

    @property
    def sampling(self) -> dict[str, float]:
        return dict(SAMPLING_PRESETS[self.preset])

    @classmethod
    def parse(cls, label: str) -> ArenaConfig:
        """The configuration a :attr:`label` names."""
        parts = [part.strip() for part in label.split("·")]
        if len(parts) != 3:
            raise PreferenceError(f"Not a configuration label: {label!r} (expected 'model · mode · preset').")
        return cls(*parts)


def arena_configs(models: Sequence[ModelSpec]) -> list[ArenaConfig]:
    """Every configuration the arena can offer for ``models`` (think mode only for think/answer models)."""
    return [
        ArenaConfig(spec.id, mode, preset)
        for spec in models
        for mode in MODES
        if mode != "think" or spec.format.think
        for preset in SAMPLING_PRESETS
    ]


def draw_pair(configs: Sequence[ArenaConfig], rng: random.Random | None = None) -> tuple[ArenaConfig, ArenaConfig]:
    """Two different configurations drawn at random, in random order (which one is A is random too)."""
    distinct = list(dict.fromkeys(configs))
    if len(distinct) < 2:
        raise PreferenceError("Enable at least two configurations for a battle.")
    a, b = (rng or random.SystemRandom()).sample(distinct, 2)
    return a, b


# -- sessions ---------------------------------------------------------------------------------------


def _add(store: Store, row: Any) -> Any:
    """Insert one row in a transaction that writes first: on SQLite a transaction that reads and then
    writes can fail at once under concurrent writers, while one that starts by writing waits its turn."""
    with store.session() as session:
        session.add(row)
        session.flush()
        return row


# -- arena ------------------------------------------------------------------------------------------


def start_battle(
    studio: Studio,
    instruction: str,
    target_words: int,
    configs: Sequence[ArenaConfig],
    user: str | None = None,
    rng: random.Random | None = None,
) -> Battle:
    """Draw two configurations, create one document for each (in the Library) and store the battle.

    Nothing is generated yet: :func:`run_battle` writes both sides.
    """
    a, b = draw_pair(configs, rng)
    docs = [
        studio.create(
            instruction,
            target_words,
            mode=cfg.mode,
            model=cfg.model,  # type: ignore[arg-type]
            sampling=cfg.sampling,
            user=user,  # type: ignore[arg-type]
        )
        for cfg in (a, b)
    ]
    battle = Battle(
        user=user,
        instruction=docs[0].instruction,
        target_words=target_words,
        config_a=_arena_config(a, docs[0]),
        config_b=_arena_config(b, docs[1]),
        document_a_id=docs[0].id,
        document_b_id=docs[1].id,
    )
    return _add(studio.store, battle)


def _arena_config(config: ArenaConfig, doc: Document) -> dict[str, Any]:
    return {
        "label": config.label,
        "model": doc.model,
        "mode": doc.mode,
        "preset": config.preset,
        "backend": doc.backend,
        "sampling": doc.params,
    }


def get_battle(store: Store, battle_id: str) -> Battle:
    with store.session() as session:
        battle = session.get(Battle, battle_id)
    if battle is None:
        raise NotFound(f"There is no battle {battle_id}.")
    return battle


async def run_battle(studio: Studio, battle_id: str) -> AsyncIterator[tuple[Side, Event]]:
    """Write both sides of a battle concurrently, yielding ``(side, event)`` as they come.

    However it ends (both finished, one failed, the user stopped, the consumer went away) the
    battle's status says so afterwards: "done" only when both documents are done; anything else
    ("failed", "unfinished") keeps the battle out of voting and ratings.
    """
    battle = get_battle(studio.store, battle_id)
    queue: asyncio.Queue[tuple[Side, Event | None]] = asyncio.Queue()

    async def pump(side: Side, doc_id: str | None) -> None:
        try:
            if doc_id is None:
                raise PreferenceError("The battle's document was deleted.")
            async with aclosing(studio.write(doc_id)) as events:
                async for event in events:
                    await queue.put((side, event))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a side that crashes is a failed side, never a traceback
            await queue.put((side, Failed(str(exc) or type(exc).__name__)))
        finally:
            queue.put_nowait((side, None))

    tasks = [
        asyncio.create_task(pump("a", battle.document_a_id)),
        asyncio.create_task(pump("b", battle.document_b_id)),
    ]
    try:
        running = 2
        while running:
            side, event = await queue.get()
            if event is None:
                running -= 1
                continue
            yield side, event
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        finish_battle(studio.store, battle_id)


def stop_battle(studio: Studio, battle_id: str) -> None:
    """Stop both sides (the battle then ends "unfinished" and cannot be voted on)."""
    battle = get_battle(studio.store, battle_id)
    for doc_id in (battle.document_a_id, battle.document_b_id):
        if doc_id:
            studio.stop(doc_id)


def finish_battle(store: Store, battle_id: str) -> Battle:
    """Set the battle's status from its documents: done, failed (either failed) or unfinished."""
    with store.session() as session:
        battle = session.get(Battle, battle_id)
        if battle is None:
            raise NotFound(f"There is no battle {battle_id}.")
        docs = [session.get(Document, d) if d else None for d in (battle.document_a_id, battle.document_b_id)]
        if any(doc is None for doc in docs):
            battle.status, battle.error = "failed", "A side's document was deleted."
        elif all(doc.status == "done" and doc.words > 0 for doc in docs if doc):
            battle.status, battle.error = "done", None
        elif any(doc.status == "failed" for doc in docs if doc):
            battle.status = "failed"
            battle.error = next((doc.error for doc in docs if doc and doc.error), None)
        else:
            battle.status, battle.error = "unfinished", None
        battle.updated_at = utcnow()
        return battle


def vote(store: Store, battle_id: str, choice: str, user: str | None = None) -> PreferencePair:
    """Record a vote ("a", "b", "tie" or "both_bad") on a finished battle as a new pair row.

    The texts are copied from the two documents as they stand now. A second vote appends another
    row; ratings count each voter's latest vote per battle.
    """
    if choice not in VOTES:
        raise PreferenceError(f"Unknown vote {choice!r}; choose one of {', '.join(VOTES)}.")
    battle = get_battle(store, battle_id)
    if battle.status != "done":
        raise PreferenceError("This battle did not finish on both sides, so it cannot be voted on.")
    text_a = store.document_text(battle.document_a_id or "")
    text_b = store.document_text(battle.document_b_id or "")
    sides = {
        "a": (text_a, battle.config_a, battle.document_a_id),
        "b": (text_b, battle.config_b, battle.document_b_id),
    }
    first, second = ("b", "a") if choice == "b" else ("a", "b")
    chosen, chosen_config, chosen_doc = sides[first]
    rejected, rejected_config, rejected_doc = sides[second]
    pair = PreferencePair(
        user=user,
        source="arena",
        verdict="preferred" if choice in ("a", "b") else choice,  # type: ignore[arg-type]
        prompt=single_prompt(battle.instruction, battle.target_words),
        chosen=chosen,
        rejected=rejected,
        chosen_config=chosen_config,
        rejected_config=rejected_config,
        chosen_document_id=chosen_doc,
        rejected_document_id=rejected_doc,
        battle_id=battle.id,
        vote=choice,  # type: ignore[arg-type]
        chosen_words=count_words(chosen),
        rejected_words=count_words(rejected),
    )
    return _add(store, pair)


def arena_outcomes(store: Store, since: datetime | None = None, until: datetime | None = None) -> list[RatedBattle]:
    """The rated battles, oldest vote first: each voter's latest vote on each battle that finished.

    Battles that failed or ended unfinished are left out (they cannot be voted on in the first place,
    and a battle is only "done" when both documents are).
    """
    query = (
        select(PreferencePair, Battle)
        .join(Battle, col(PreferencePair.battle_id) == col(Battle.id))
        .where(PreferencePair.source == "arena", Battle.status == "done")
        .order_by(col(PreferencePair.created_at), col(PreferencePair.id))
    )
    query = _in_range(query, PreferencePair, since, until)
    with store.session() as session:
        rows = session.exec(query).all()
    latest: dict[tuple[str, str | None], tuple[PreferencePair, Battle]] = {}
    for pair, battle in rows:
        key = (battle.id, pair.user)
        latest.pop(key, None)  # re-insert so the order is that of the latest vote
        latest[key] = (pair, battle)
    return [
        RatedBattle(battle.config_a.get("label", "A"), battle.config_b.get("label", "B"), pair.vote or "tie")
        for pair, battle in latest.values()
    ]


# -- section regenerate, edits and thumbs -------------------------------------------------------------


def _generations(store: Store, doc_id: str, index: int, kinds: Sequence[str]) -> list[Generation]:
    query = (
        select(Generation)
        .where(Generation.document_id == doc_id, Generation.section_index == index, col(Generation.kind).in_(kinds))
        .where(Generation.status == "done")
        .order_by(col(Generation.id))
    )
    with store.session() as session:
        return list(session.exec(query).all())


def _generation_config(generation: Generation | None, doc: Document) -> dict[str, Any]:
    if generation is None:
        return {"model": doc.model, "backend": doc.backend, "mode": doc.mode, "sampling": doc.params}
    return {
        "model": generation.model,
        "backend": generation.backend,
        "mode": doc.mode,
        "sampling": generation.params,
        "kind": generation.kind,
        "generation_id": generation.id,
    }


def _document(store: Store, doc_id: str) -> Document:
    doc = store.get_document(doc_id)
    if doc is None:
        raise NotFound(f"There is no document {doc_id}.")
    return doc


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def record_section_choice(
    store: Store, doc_id: str, index: int, kept_text: str, discarded_text: str, user: str | None = None
) -> PreferencePair | None:
    """After a regenerate, record (kept, discarded) for section ``index``; None when the two are the same.

    The prompt is the section's exact write prompt from its latest write or regenerate generation, the
    prompt both versions answer. Each side's configuration is that of the generation that wrote it.
    """
    if _same(kept_text, discarded_text) or not kept_text.strip() or not discarded_text.strip():
        return None
    doc = _document(store, doc_id)
    generations = _generations(store, doc_id, index, _WRITE_KINDS)
    if not generations or not generations[-1].prompt:
        raise PreferenceError(f"Section {index + 1} has no recorded write prompt, so this choice cannot be kept.")
    prompt_from = generations[-1]

    def writer_of(text: str) -> Generation | None:
        return next((g for g in reversed(generations) if _same(g.output, text)), None)

    kept_by, discarded_by = writer_of(kept_text), writer_of(discarded_text)
    pair = PreferencePair(
        user=user,
        source="regenerate",
        prompt=prompt_from.prompt,
        chosen=kept_text.strip(),
        rejected=discarded_text.strip(),
        chosen_config=_generation_config(kept_by, doc),
        rejected_config=_generation_config(discarded_by, doc),
        chosen_document_id=doc_id,
        rejected_document_id=doc_id,
        section_index=index,
        generation_id=prompt_from.id,
        chosen_words=count_words(kept_text),
        rejected_words=count_words(discarded_text),
    )
    return _add(store, pair)


def keep_section_version(
    studio: Studio,
    doc_id: str,
    index: int,
    keep: Literal["new", "previous"],
    previous_text: str,
    user: str | None = None,
) -> PreferencePair | None:
    """The Write tab's "keep" buttons after a regenerate, in one call.

    ``previous_text`` is the section's text from before the regenerate (the UI keeps it); the new
    version is the section's text now. Keeping the previous one puts it back (as a plain text change:
    no edit pair is recorded for it), then the choice is recorded by :func:`record_section_choice`.
    """
    current = next((s.text for s in studio.store.sections(doc_id) if s.index == index), None)
    if current is None:
        raise NotFound(f"Document {doc_id} has no section {index + 1}.")
    if keep == "previous":
        if not _same(current, previous_text):
            studio.edit_section(doc_id, index, previous_text)
        return record_section_choice(studio.store, doc_id, index, previous_text, current, user=user)
    if keep == "new":
        return record_section_choice(studio.store, doc_id, index, current, previous_text, user=user)
    raise PreferenceError(f"keep must be 'new' or 'previous', not {keep!r}.")


def changed_share(before: str, after: str) -> float:
    """Share of words changed between two texts, 0 (same words) to 1 (nothing in common).

    ``1 − ratio`` of :class:`difflib.SequenceMatcher` on the whitespace-separated words (punctuation
    and case count), i.e. the share of the two texts' words outside their longest common matches.
    """
    a, b = before.split(), after.split()
    if not a and not b:
        return 0.0
    return 1.0 - difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def record_edit(
    store: Store, settings: Settings | float, doc_id: str, index: int, new_text: str, user: str | None = None
) -> PreferencePair | None:
    """If the user's text for section ``index`` differs enough from the model's, store (edited, model).

    "The model's text" is the output of the section's generation (write, regenerate or continue)
    closest to the edit — the version the user started from; the edit counts when the share of
    changed words is at least ``settings.edit_pair_threshold`` (a number may be given instead).
    Returns None when there is no
    model text, the edit is below the threshold, or the same edit was already recorded.
    """
    threshold = settings if isinstance(settings, (int, float)) else settings.edit_pair_threshold
    if not new_text.strip():
        return None
    generations = [g for g in _generations(store, doc_id, index, _MODEL_KINDS) if g.output.strip()]
    if not generations:
        return None
    # The model text this edit started from: the closest of the section's model outputs (newest on a
    # tie), so that fixing a typo in a kept older version is not mistaken for rewriting a newer one.
    shares = [(changed_share(g.output, new_text), -(g.id or 0), g) for g in generations]
    share, _, model = min(shares, key=lambda item: (item[0], item[1]))
    if share == 0 or share < threshold:
        return None
    latest = _latest_edit(store, model.id)
    if latest is not None and _same(latest.chosen, new_text):
        return None
    doc = _document(store, doc_id)
    prompt = model.prompt or next((g.prompt for g in reversed(generations) if g.prompt), "")
    if not prompt:
        return None
    pair = PreferencePair(
        user=user,
        source="edit",
        prompt=prompt,
        chosen=new_text.strip(),
        rejected=model.output.strip(),
        chosen_config={"edited_by": user, "model": None},
        rejected_config=_generation_config(model, doc),
        chosen_document_id=doc_id,
        rejected_document_id=doc_id,
        section_index=index,
        generation_id=model.id,
        chosen_words=count_words(new_text),
        rejected_words=count_words(model.output),
        changed=round(share, 4),
    )
    return _add(store, pair)


def _latest_edit(store: Store, generation_id: int | None) -> PreferencePair | None:
    query = (
        select(PreferencePair)
        .where(PreferencePair.source == "edit", PreferencePair.generation_id == generation_id)
        .order_by(col(PreferencePair.id).desc())
        .limit(1)
    )
    with store.session() as session:
        return session.exec(query).first()


def record_thumb(
    store: Store,
    doc_id: str,
    label: bool,
    index: int | None = None,
    reason: str | None = None,
    user: str | None = None,
) -> Feedback:
    """Thumbs up (``label`` True) or down on section ``index``, or on the whole document when ``index`` is None.

    A section's prompt is its latest recorded write prompt and its completion the section's text as
    the user sees it; a document's prompt is its instruction with the length made explicit.
    """
    doc = _document(store, doc_id)
    generation: Generation | None = None
    if index is None:
        prompt = single_prompt(doc.instruction, doc.target_words)
        completion = store.document_text(doc_id)
    else:
        section = next((s for s in store.sections(doc_id) if s.index == index), None)
        if section is None:
            raise NotFound(f"Document {doc_id} has no section {index + 1}.")
        completion = section.text.strip()
        generations = _generations(store, doc_id, index, _MODEL_KINDS)
        generation = next((g for g in reversed(generations) if g.prompt), None)
        prompt = generation.prompt if generation else single_prompt(doc.instruction, doc.target_words)
    if not completion:
        raise PreferenceError("There is no text to rate yet.")
    return _add(
        store,
        Feedback(
            user=user,
            document_id=doc_id,
            section_index=index,
            label=bool(label),
            reason=(reason or "").strip() or None,
            prompt=prompt,
            completion=completion,
            config=_generation_config(generation, doc),
            generation_id=generation.id if generation else None,
            words=count_words(completion),
        ),
    )


# -- queries and export -----------------------------------------------------------------------------


@dataclass
class Filters:
    """Which judgements to export. Dates are inclusive; a bare date means the whole day (UTC)."""

    sources: Sequence[str] | None = None
    since: datetime | date | None = None
    until: datetime | date | None = None
    user: str | None = None
    min_words: int = 0
    """Both texts of a pair (a KTO completion) must have at least this many words."""
    include_ties: bool = False
    include_both_bad: bool = False
    latest_edit_only: bool = True
    """Of several edits of the same model text, export only the newest (the user's final text)."""

    def __post_init__(self) -> None:
        unknown = set(self.sources or ()) - set(SOURCES)
        if unknown:
            raise PreferenceError(f"Unknown source(s) {', '.join(sorted(unknown))}; choose from {', '.join(SOURCES)}.")


def _as_utc(value: datetime | date | None, end: bool) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min, tzinfo=UTC) + (timedelta(days=1) if end else timedelta(0))
        return value - timedelta(microseconds=1) if end else value
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _in_range(query: Any, table: Any, since: datetime | date | None, until: datetime | date | None) -> Any:
    start, end = _as_utc(since, end=False), _as_utc(until, end=True)
    if start is not None:
        query = query.where(col(table.created_at) >= start)
    if end is not None:
        query = query.where(col(table.created_at) <= end)
    return query


def pairs(store: Store, filters: Filters | None = None) -> list[PreferencePair]:
    """Stored pairs matching ``filters``, oldest first."""
    f = filters or Filters()
    query = select(PreferencePair).order_by(col(PreferencePair.created_at), col(PreferencePair.id))
    if f.sources:
        query = query.where(col(PreferencePair.source).in_(list(f.sources)))
    if f.user is not None:
        query = query.where(PreferencePair.user == f.user)
    verdicts = ["preferred"] + (["tie"] if f.include_ties else []) + (["both_bad"] if f.include_both_bad else [])
    query = query.where(col(PreferencePair.verdict).in_(verdicts))
    if f.min_words:
        query = query.where(PreferencePair.chosen_words >= f.min_words, PreferencePair.rejected_words >= f.min_words)
    query = _in_range(query, PreferencePair, f.since, f.until)
    with store.session() as session:
        rows = list(session.exec(query).all())
    if f.latest_edit_only:
        newest: dict[int | None, int] = {}
        for row in rows:
            if row.source == "edit":
                newest[row.generation_id] = row.id or 0
        rows = [r for r in rows if r.source != "edit" or newest.get(r.generation_id) == r.id]
    return rows


def feedback(store: Store, filters: Filters | None = None) -> list[Feedback]:
    """Stored thumbs matching ``filters`` (user, dates, minimum words), oldest first."""
    f = filters or Filters()
    query = select(Feedback).order_by(col(Feedback.created_at), col(Feedback.id))
    if f.user is not None:
        query = query.where(Feedback.user == f.user)
    if f.min_words:
        query = query.where(Feedback.words >= f.min_words)
    query = _in_range(query, Feedback, f.since, f.until)
    with store.session() as session:
        return list(session.exec(query).all())


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


# -- summaries for the Data tab ---------------------------------------------------------------------


def counts(store: Store) -> list[tuple[str, int]]:
    """How many judgements of each kind are stored: pairs by source and verdict, thumbs, battles."""
    with store.session() as session:
        by_source = session.exec(
            select(PreferencePair.source, PreferencePair.verdict, func.count()).group_by(
                col(PreferencePair.source), col(PreferencePair.verdict)
            )
        ).all()
        thumbs = dict(session.exec(select(Feedback.label, func.count()).group_by(col(Feedback.label))).all())
        battles = dict(session.exec(select(Battle.status, func.count()).group_by(col(Battle.status))).all())
    pairs_by = {(source, verdict): n for source, verdict, n in by_source}
    rows = [(f"{source} pairs", pairs_by.get((source, "preferred"), 0)) for source in SOURCES]
    rows += [
        ("arena ties", pairs_by.get(("arena", "tie"), 0)),
        ("arena both bad", pairs_by.get(("arena", "both_bad"), 0)),
        ("thumbs up", thumbs.get(True, 0)),
        ("thumbs down", thumbs.get(False, 0)),
        ("battles finished", battles.get("done", 0)),
        ("battles unfinished", battles.get("unfinished", 0) + battles.get("running", 0)),
        ("battles failed", battles.get("failed", 0)),
    ]
    return rows
