"""The arena, the Chatbot Arena way: blind battles between two configurations, a vote, a pair.

One instruction is written by two configurations drawn at random from the ones the user enabled,
on random sides under neutral names; a vote (A better, B better, tie, both bad) is only accepted
once both documents finished. The pair's prompt is the instruction with its length made explicit
(:func:`longwriter.prompts.single_prompt`); ratings come from :func:`arena_outcomes` and
:mod:`longwriter.ratings`.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlmodel import col, select

from longwriter.agentwrite import MODES
from longwriter.catalog import ModelSpec
from longwriter.events import Event, Failed
from longwriter.preferences.rows import PreferenceError, add_row, in_range
from longwriter.prompts import single_prompt
from longwriter.ratings import Battle as RatedBattle
from longwriter.sampling import MODEL_DEFAULT, PRESET_NAMES, preset_overrides
from longwriter.store import Battle, Document, NotFound, PreferencePair, Store
from longwriter.store.models import Vote, utcnow
from longwriter.streams import merge
from longwriter.text import count_words

if TYPE_CHECKING:
    from longwriter.studio import Studio

Side = Literal["a", "b"]
VOTES: tuple[Vote, ...] = ("a", "b", "tie", "both_bad")
SIDE_NAMES = {"a": "Model A", "b": "Model B"}
"""The neutral names the arena shows until the vote."""


@dataclass(frozen=True)
class ArenaConfig:
    """One contestant: a model (built-in or a trained checkpoint), a writing mode and a sampling preset."""

    model: str
    mode: str = "agentwrite"
    preset: str = MODEL_DEFAULT
    """One of :data:`longwriter.sampling.PRESET_NAMES`, the Write tab's presets."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise PreferenceError(f"Unknown mode {self.mode!r}; choose one of {', '.join(MODES)}.")
        if self.preset not in PRESET_NAMES:
            raise PreferenceError(f"Unknown sampling preset {self.preset!r}; choose one of {', '.join(PRESET_NAMES)}.")

    @property
    def label(self) -> str:
        """The name shown on the leaderboard and revealed after a vote."""
        return f"{self.model} · {self.mode} · {self.preset}"

    @property
    def sampling(self) -> dict[str, float | int]:
        return preset_overrides(self.preset)

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
        for preset in PRESET_NAMES
    ]


def draw_pair(configs: Sequence[ArenaConfig], rng: random.Random | None = None) -> tuple[ArenaConfig, ArenaConfig]:
    """Two different configurations drawn at random, in random order (which one is A is random too)."""
    distinct = list(dict.fromkeys(configs))
    if len(distinct) < 2:
        raise PreferenceError("Enable at least two configurations for a battle.")
    a, b = (rng or random.SystemRandom()).sample(distinct, 2)
    return a, b


def runnable(studio: Studio, configs: Sequence[ArenaConfig]) -> list[ArenaConfig]:
    """The configurations whose model can run now; a clear refusal naming why when fewer than two can."""
    verdicts = {model: studio.availability(model) for model in dict.fromkeys(c.model for c in configs)}
    kept = [c for c in configs if verdicts[c.model].runnable]
    if len(set(kept)) < 2 <= len(set(configs)):
        reasons = "; ".join(v.reason for v in verdicts.values() if not v.runnable)
        raise PreferenceError(f"Fewer than two of these configurations can run now: {reasons}")
    return kept


def start_battle(
    studio: Studio,
    instruction: str,
    target_words: int,
    configs: Sequence[ArenaConfig],
    user: str | None = None,
    rng: random.Random | None = None,
) -> Battle:
    """Draw two configurations, create one document for each (in the Library) and store the battle.

    Nothing is generated yet: :func:`run_battle` writes both sides. Only configurations whose model can
    run now are drawn (a battle with a model that cannot start here would only be a failed battle).
    """
    a, b = draw_pair(runnable(studio, configs), rng)
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
    return add_row(studio.store, battle)


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

    async def side(name: Side, doc_id: str | None) -> AsyncIterator[tuple[Side, Event]]:
        try:
            if doc_id is None:
                raise PreferenceError("The battle's document was deleted.")
            async with aclosing(studio.write(doc_id)) as events:
                async for event in events:
                    yield name, event
        except Exception as exc:  # noqa: BLE001 - a side that crashes is a failed side, never a traceback
            yield name, Failed(str(exc) or type(exc).__name__)

    sides = [lambda: side("a", battle.document_a_id), lambda: side("b", battle.document_b_id)]
    try:
        async with aclosing(merge(sides)) as events:
            async for item in events:
                yield item
    finally:
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
    return add_row(store, pair)


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
    query = in_range(query, PreferencePair, since, until)
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
