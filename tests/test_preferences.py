"""Preferences: arena battles and votes, kept regenerations, edits, thumbs, exports, and one real DPO step.

Most tests drive the real studio (writer, recorder, store) with a small scripted backend, so a
battle takes milliseconds; the DPO test trains a tiny random llama with the real SmolLM2 tokenizer.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scripted import VOCABULARY
from sqlmodel import Session, select
from typer.testing import CliRunner

from longwriter.backends.base import BackendError, GenerationRequest, estimate_tokens
from longwriter.catalog import resolve
from longwriter.events import DocumentDone, Event
from longwriter.export_cli import export_app
from longwriter.plan import Plan
from longwriter.plan import Section as Step
from longwriter.preferences import (
    ArenaConfig,
    Filters,
    PreferenceError,
    arena_configs,
    arena_outcomes,
    changed_share,
    counts,
    draw_pair,
    feedback,
    get_battle,
    keep_section_version,
    kto_records,
    pairs,
    record_edit,
    record_section_choice,
    record_thumb,
    run_battle,
    start_battle,
    stop_battle,
    vote,
)
from longwriter.prompts import section_prompt, single_prompt
from longwriter.ratings import leaderboard
from longwriter.sampling import MODEL_DEFAULT, PRESET_KEYS, PRESET_NAMES, PRESETS, Sampling
from longwriter.settings import Settings
from longwriter.store import NotFound, PreferencePair, Store
from longwriter.studio import Studio

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

MODEL = "smollm2-135m"
INSTRUCTION = "Write a short essay about why cats sleep so much"


class ScriptedBackend:
    """A fast stand-in model: varied, loop-free sentences whose wording depends on the temperature.

    ``fail_at`` makes requests at that temperature fail; ``gate`` (when set) holds every request
    until it is released, so a test can stop a battle mid-run.
    """

    name = "scripted"

    def __init__(self, fail_at: float | None = None) -> None:
        self.spec = resolve(MODEL, Path("/nonexistent"))
        self.fail_at = fail_at
        self.gate: asyncio.Event | None = None
        self.calls = 0

    @property
    def context_window(self) -> int:
        return 8192

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_at is not None and request.temperature == self.fail_at:
            raise BackendError("the scripted model failed on purpose")
        flavour = "calm" if request.temperature < 0.5 else "wild" if request.temperature > 0.8 else "plain"
        words = random.Random(self.calls)
        produced = 0
        while produced < request.max_tokens:
            piece = f"The {flavour} cat {' '.join(words.choice(VOCABULARY) for _ in range(7))}. "
            produced += estimate_tokens(piece)
            yield piece
            await asyncio.sleep(0.0005)  # a real model takes time per piece (and Stop relies on it)

    async def aclose(self) -> None:
        pass


@pytest.fixture
async def fake_studio(settings: Settings) -> AsyncIterator[tuple[Studio, ScriptedBackend]]:
    studio = Studio(settings)
    backend = ScriptedBackend()
    studio.use_backend(backend)  # type: ignore[arg-type]
    yield studio, backend
    await studio.aclose()


CONFIGS = [ArenaConfig(MODEL, "single", "Precise"), ArenaConfig(MODEL, "single", "Creative")]


async def battle(studio: Studio, user: str | None = "ann", seed: int = 1, words: int = 120) -> str:
    made = start_battle(studio, INSTRUCTION, words, CONFIGS, user=user, rng=random.Random(seed))
    async for _ in run_battle(studio, made.id):
        pass
    return made.id


# -- arena ----------------------------------------------------------------------------------------


def test_configurations_and_random_draws() -> None:
    configs = arena_configs([resolve(MODEL, Path("/x")), resolve("longwriter-zero-32b", Path("/x"))])
    labels = {c.label for c in configs}
    assert f"{MODEL} · agentwrite · Model default" in labels and f"{MODEL} · think · Model default" not in labels
    assert "longwriter-zero-32b · think · Creative" in labels
    assert ArenaConfig.parse(f"{MODEL} · parallel · Precise") == ArenaConfig(MODEL, "parallel", "Precise")
    sides = {draw_pair(CONFIGS, random.Random(seed))[0] for seed in range(40)}
    assert sides == set(CONFIGS)  # either configuration can be side A
    with pytest.raises(PreferenceError, match="at least two"):
        draw_pair([CONFIGS[0], CONFIGS[0]])
    with pytest.raises(PreferenceError):
        ArenaConfig(MODEL, "single", "spicy")


async def test_a_battle_draws_only_configurations_that_can_run_now(
    fake_studio: tuple[Studio, ScriptedBackend],
) -> None:
    """A GPU-only model on this CPU machine is never drawn, through the API as through the page."""
    studio, _ = fake_studio
    gpu_only = ArenaConfig("longwriter-glm4-9b", "single")
    drawn = {
        start_battle(studio, INSTRUCTION, 120, [*CONFIGS, gpu_only], rng=random.Random(seed)).config_a["label"]
        for seed in range(12)
    }
    assert drawn == {c.label for c in CONFIGS}
    with pytest.raises(PreferenceError, match="Fewer than two .* needs a GPU"):
        start_battle(studio, INSTRUCTION, 120, [CONFIGS[0], gpu_only])


def test_the_arena_offers_the_write_tabs_presets_with_the_same_values() -> None:
    """One preset table: a contestant "Creative" samples as the Write tab's "Creative" does."""
    from ui import presets

    spec = resolve(MODEL, Path("/x"))
    assert {c.preset for c in arena_configs([spec])} == set(PRESET_NAMES) == set(presets.preset_names(None))
    for name in PRESET_NAMES:
        drawn = Sampling.for_model(spec, **ArenaConfig(MODEL, "single", name).sampling)
        assert {k: getattr(drawn, k) for k in PRESET_KEYS} == presets.values_for(name, spec, None), name
    assert ArenaConfig(MODEL).preset == MODEL_DEFAULT and ArenaConfig(MODEL).sampling == {}


async def test_a_battle_writes_two_documents_then_takes_a_vote(fake_studio: tuple[Studio, ScriptedBackend]) -> None:
    studio, _ = fake_studio
    made = start_battle(studio, INSTRUCTION, 120, CONFIGS, user="ann", rng=random.Random(3))
    assert made.status == "running" and {made.config_a["label"], made.config_b["label"]} == {c.label for c in CONFIGS}
    with pytest.raises(PreferenceError, match="did not finish"):
        vote(studio.store, made.id, "a", user="ann")  # buttons stay off until both sides are done
    seen: dict[str, list[Event]] = {"a": [], "b": []}
    async for side, event in run_battle(studio, made.id):
        seen[side].append(event)
    assert all(isinstance(events[-1], DocumentDone) for events in seen.values())
    stored = get_battle(studio.store, made.id)
    assert stored.status == "done"
    # Both sides are ordinary documents in the user's Library, with the drawn settings.
    library = {d.id: d for d in studio.store.list_documents(user="ann")}
    doc_a, doc_b = library[stored.document_a_id], library[stored.document_b_id]  # type: ignore[index]
    assert doc_a.params["temperature"] == stored.config_a["sampling"]["temperature"]
    assert doc_a.params["temperature"] != doc_b.params["temperature"]

    pair = vote(studio.store, made.id, "b", user="ann")
    text_b = studio.store.document_text(doc_b.id)
    assert pair.chosen == text_b and pair.rejected == studio.store.document_text(doc_a.id)
    assert pair.source == "arena" and pair.verdict == "preferred" and pair.vote == "b" and pair.user == "ann"
    assert pair.chosen_config["label"] == stored.config_b["label"] and pair.chosen_document_id == doc_b.id
    assert pair.prompt == single_prompt(INSTRUCTION, 120) and pair.battle_id == made.id
    assert pair.chosen_words > 50 and pair.created_at <= datetime.now(UTC)

    outcomes = arena_outcomes(studio.store)
    assert [(o.a, o.b, o.winner) for o in outcomes] == [(stored.config_a["label"], stored.config_b["label"], "b")]
    # A change of mind appends a row; the rating counts the latest vote of each voter.
    vote(studio.store, made.id, "tie", user="ann")
    assert len(pairs(studio.store, Filters(include_ties=True))) == 2
    assert [o.winner for o in arena_outcomes(studio.store)] == ["tie"]
    with pytest.raises(PreferenceError, match="Unknown vote"):
        vote(studio.store, made.id, "left")


async def test_failed_and_stopped_battles_cannot_be_voted_or_rated(settings: Settings) -> None:
    studio = Studio(settings)
    backend = ScriptedBackend(fail_at=PRESETS["Creative"]["temperature"])
    studio.use_backend(backend)  # type: ignore[arg-type]
    try:
        failed = await battle(studio)
        assert get_battle(studio.store, failed).status == "failed"
        with pytest.raises(PreferenceError):
            vote(studio.store, failed, "a")

        backend.fail_at, backend.gate = None, asyncio.Event()
        made = start_battle(studio, INSTRUCTION, 120, CONFIGS, rng=random.Random(2))
        events = run_battle(studio, made.id)
        first = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.05)
        stop_battle(studio, made.id)
        backend.gate.set()
        await first
        async for _ in events:
            pass
        assert get_battle(studio.store, made.id).status == "unfinished"
        assert arena_outcomes(studio.store) == []

        # A consumer that walks away (closed tab) leaves an unfinished battle too.
        backend.gate = None
        made = start_battle(studio, INSTRUCTION, 120, CONFIGS, rng=random.Random(4))
        events = run_battle(studio, made.id)
        await anext(events)
        await events.aclose()
        assert get_battle(studio.store, made.id).status == "unfinished"
    finally:
        await studio.aclose()


# -- section regenerate, edits, thumbs ----------------------------------------------------------------

PLAN = Plan(
    sections=[
        Step(main_point="Cats sleep to save energy", words=100),
        Step(main_point="Cats sleep because they hunt at dusk", words=100),
    ]
)


async def written_document(studio: Studio, user: str = "bob") -> str:
    doc = studio.create(INSTRUCTION, 200, mode="agentwrite", model=MODEL, plan=PLAN, user=user)
    async for _ in studio.write(doc.id):
        pass
    return doc.id


async def test_keeping_a_regenerated_section_records_its_exact_write_prompt(
    fake_studio: tuple[Studio, ScriptedBackend],
) -> None:
    studio, _ = fake_studio
    doc_id = await written_document(studio)
    first = studio.store.sections(doc_id)
    old = first[1].text
    async for _ in studio.regenerate_section(doc_id, 1):
        pass
    new = studio.store.sections(doc_id)[1].text
    assert new != old

    # The user keeps the old version: the UI restores it, then records the choice.
    studio.edit_section(doc_id, 1, old)
    pair = record_section_choice(studio.store, doc_id, 1, kept_text=old, discarded_text=new, user="bob")
    assert pair is not None and pair.source == "regenerate" and pair.section_index == 1
    assert pair.prompt == section_prompt(INSTRUCTION, PLAN, [first[0].text], 1)  # what AgentWrite sent
    gens = studio.store.generations(doc_id)
    assert pair.prompt == gens[-1].prompt and gens[-1].kind == "regenerate"
    assert pair.chosen == old and pair.rejected == new
    assert pair.chosen_config["kind"] == "section" and pair.rejected_config["kind"] == "regenerate"
    assert pair.chosen_document_id == pair.rejected_document_id == doc_id
    assert record_section_choice(studio.store, doc_id, 1, old, old) is None  # no choice, no pair
    with pytest.raises(PreferenceError):
        record_section_choice(studio.store, doc_id, 5, "a text", "another text")


async def test_the_write_tabs_keep_buttons(fake_studio: tuple[Studio, ScriptedBackend]) -> None:
    studio, _ = fake_studio
    doc_id = await written_document(studio)
    for keep in ("previous", "new"):
        before = studio.store.sections(doc_id)[0].text
        async for _ in studio.regenerate_section(doc_id, 0):
            pass
        after = studio.store.sections(doc_id)[0].text
        pair = keep_section_version(studio, doc_id, 0, keep, before, user="bob")  # type: ignore[arg-type]
        assert pair is not None and pair.source == "regenerate"
        kept, dropped = (before, after) if keep == "previous" else (after, before)
        assert (pair.chosen, pair.rejected) == (kept, dropped)
        assert studio.store.sections(doc_id)[0].text == kept  # the kept version is the section's text
    assert [p.source for p in pairs(studio.store)] == ["regenerate", "regenerate"]  # no edit pair on the way
    # Keep the previous version again, then fix a typo in it: compared with the version it came from
    # (not with the newer, discarded one), that is no preference.
    before = studio.store.sections(doc_id)[0].text
    async for _ in studio.regenerate_section(doc_id, 0):
        pass
    keep_section_version(studio, doc_id, 0, "previous", before)
    words = before.split()
    assert record_edit(studio.store, studio.settings, doc_id, 0, " ".join([words[0] + "s", *words[1:]])) is None
    assert len(pairs(studio.store)) == 3


def test_changed_share() -> None:
    assert changed_share("a b c d", "a b c d") == 0
    assert changed_share("", "") == 0
    assert changed_share("a b c d", "w x y z") == 1
    ten = "one two three four five six seven eight nine ten"
    assert changed_share(ten, ten.replace("ten", "TEN")) == pytest.approx(0.1)


async def test_edits_become_pairs_above_the_threshold(fake_studio: tuple[Studio, ScriptedBackend]) -> None:
    studio, _ = fake_studio
    settings = studio.settings
    doc_id = await written_document(studio)
    model_text = studio.store.sections(doc_id)[0].text
    words = model_text.split()
    typo = " ".join([words[0] + "x", *words[1:]])
    assert changed_share(model_text, typo) < settings.edit_pair_threshold
    assert record_edit(studio.store, settings, doc_id, 0, typo, user="bob") is None  # a typo fix is not a preference

    half = len(words) // 2
    rewrite = " ".join(words[:half]) + " Cats are crepuscular, so their long naps store energy for dawn and dusk."
    studio.store.update_section_text(doc_id, 0, rewrite)
    pair = record_edit(studio.store, settings, doc_id, 0, rewrite, user="bob")
    assert pair is not None and pair.source == "edit"
    assert pair.chosen == rewrite and pair.rejected == model_text and pair.changed >= 0.1  # type: ignore[operator]
    assert pair.prompt == studio.store.generations(doc_id)[0].prompt == section_prompt(INSTRUCTION, PLAN, [], 0)
    assert record_edit(studio.store, settings, doc_id, 0, rewrite, user="bob") is None  # already recorded
    assert record_edit(studio.store, 0.99, doc_id, 0, rewrite + " More.", user="bob") is None  # stricter threshold

    final = rewrite + " They also sleep when bored."
    assert record_edit(studio.store, settings, doc_id, 0, final, user="bob") is not None
    assert [p.chosen for p in pairs(studio.store)] == [final]  # the latest edit of a text by default
    assert len(pairs(studio.store, Filters(latest_edit_only=False))) == 2


async def test_thumbs_are_kto_labels(fake_studio: tuple[Studio, ScriptedBackend]) -> None:
    studio, _ = fake_studio
    doc_id = await written_document(studio)
    up = record_thumb(studio.store, doc_id, True, index=1, reason="vivid", user="cat")
    down = record_thumb(studio.store, doc_id, False, user="cat")
    assert up.prompt == studio.store.generations(doc_id)[1].prompt
    assert up.completion == studio.store.sections(doc_id)[1].text
    assert down.section_index is None and down.prompt == single_prompt(INSTRUCTION, 200)
    assert down.completion == studio.store.document_text(doc_id)
    records = kto_records(feedback(studio.store))
    assert records[0] == {
        "prompt": [{"role": "user", "content": up.prompt}],
        "completion": [{"role": "assistant", "content": up.completion}],
        "label": True,
    }
    assert records[1]["label"] is False
    standard = kto_records(feedback(studio.store), format="standard", metadata=True)
    assert standard[0]["prompt"] == up.prompt and standard[0]["reason"] == "vivid"
    with pytest.raises(NotFound):
        record_thumb(studio.store, doc_id, True, index=7)


# -- export -------------------------------------------------------------------------------------------


def seed_pairs(store: Store) -> None:
    """Pairs of every kind at known times, written straight to the table."""
    now = datetime.now(UTC)
    rows = [
        ("arena", "preferred", "ann", now - timedelta(days=10), 300),
        ("arena", "tie", "ann", now - timedelta(days=1), 300),
        ("arena", "both_bad", "bob", now - timedelta(days=1), 300),
        ("regenerate", "preferred", "bob", now - timedelta(days=2), 120),
        ("edit", "preferred", "ann", now, 20),
    ]
    with Session(store.engine) as session:
        for n, (source, verdict, user, when, words) in enumerate(rows):
            text = " ".join(["word"] * words)
            session.add(
                PreferencePair(
                    source=source,
                    verdict=verdict,
                    user=user,  # type: ignore[arg-type]
                    created_at=when,
                    prompt=f"prompt {n}",
                    chosen=f"chosen {n} {text}",
                    rejected=f"rejected {n} {text}",
                    chosen_words=words + 1,
                    rejected_words=words + 1,
                    generation_id=None,
                )
            )
        session.commit()


def test_filters(settings: Settings) -> None:
    store = Store.from_settings(settings)
    seed_pairs(store)
    prompts = lambda f: [p.prompt for p in pairs(store, f)]
    assert prompts(Filters()) == ["prompt 0", "prompt 3", "prompt 4"]  # ties and both-bad left out
    assert prompts(Filters(include_ties=True, include_both_bad=True)) == [f"prompt {n}" for n in (0, 3, 1, 2, 4)]
    assert prompts(Filters(sources=["arena"], include_ties=True)) == ["prompt 0", "prompt 1"]
    assert prompts(Filters(user="bob")) == ["prompt 3"]
    assert prompts(Filters(min_words=100)) == ["prompt 0", "prompt 3"]
    today = datetime.now(UTC).date()
    assert prompts(Filters(since=today - timedelta(days=3))) == ["prompt 3", "prompt 4"]
    assert prompts(Filters(until=today - timedelta(days=2))) == ["prompt 0", "prompt 3"]
    assert prompts(Filters(since=today, until=today)) == ["prompt 4"]
    with pytest.raises(PreferenceError):
        Filters(sources=["votes"])
    assert dict(counts(store))["arena pairs"] == 1 and dict(counts(store))["arena ties"] == 1
    store.close()


def test_training_reads_pairs_straight_from_the_database(settings: Settings) -> None:
    from training.config import Source
    from training.data import load_preference_pairs

    store = Store.from_settings(settings)
    seed_pairs(store)
    rows = load_preference_pairs(Source(kind="database", path=settings.db_url), settings)
    assert [r["prompt"] for r in rows] == [[{"role": "user", "content": f"prompt {n}"}] for n in (0, 3, 4)]
    assert rows[0]["chosen"][0]["role"] == "assistant" and rows[0]["chosen"][0]["content"].startswith("chosen 0")
    store.close()


def test_cli_exports_load_with_datasets(settings: Settings, tmp_path: Path) -> None:
    from datasets import load_dataset, load_from_disk

    store = Store.from_settings(settings)
    seed_pairs(store)
    store.close()
    runner = CliRunner()
    out = tmp_path / "pairs.jsonl"
    result = runner.invoke(export_app, ["dpo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and set(rows[0]) == {"prompt", "chosen", "rejected"}
    assert rows[0]["prompt"] == [{"role": "user", "content": "prompt 0"}]
    assert rows[0]["chosen"][0]["role"] == "assistant" and rows[0]["chosen"][0]["content"].startswith("chosen 0")
    loaded = load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == 3 and loaded[0]["rejected"][0]["content"].startswith("rejected 0")

    standard = tmp_path / "standard.jsonl"
    result = runner.invoke(
        export_app,
        ["dpo", "--format", "standard", "--source", "arena", "--include-ties", "--metadata", "--out", str(standard)],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in standard.read_text().splitlines()]
    assert [r["prompt"] for r in rows] == ["prompt 0", "prompt 1"] and rows[1]["verdict"] == "tie"
    assert isinstance(rows[0]["chosen"], str) and rows[0]["source"] == "arena"

    folder = tmp_path / "dpo-dataset"
    result = runner.invoke(export_app, ["dpo", "--to-disk", str(folder), "--user", "ann"])
    assert result.exit_code == 0, result.output
    saved = load_from_disk(str(folder))
    assert saved.column_names == ["prompt", "chosen", "rejected"] and saved.num_rows == 2

    result = runner.invoke(export_app, ["dpo", "--source", "arena", "--since", "2999-01-01"])
    assert result.exit_code == 1 and "nothing was written" in result.output
    result = runner.invoke(export_app, ["dpo", "--source", "votes"])
    assert result.exit_code == 1
    result = runner.invoke(export_app, ["kto", "--with-pairs", "--format", "standard"])  # default location
    assert result.exit_code == 0, result.output
    written = list(settings.exports_dir.glob("kto-*.jsonl"))
    assert len(written) == 1
    labels = [json.loads(line)["label"] for line in written[0].read_text().splitlines()]
    assert labels == [True, False] * 3


def test_push_to_hub_is_a_thin_call(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The upload path builds the same dataset and hands it to ``Dataset.push_to_hub`` (not called for real)."""
    from datasets import Dataset

    calls: list[tuple[int, str, bool]] = []
    monkeypatch.setattr(
        Dataset,
        "push_to_hub",
        lambda self, repo, private=True, token=None: calls.append((self.num_rows, repo, private)),
    )
    store = Store.from_settings(settings)
    seed_pairs(store)
    store.close()
    result = CliRunner().invoke(export_app, ["dpo", "--push-to-hub", "me/longwriter-prefs"])
    assert result.exit_code == 0, result.output
    assert calls == [(3, "me/longwriter-prefs", True)]


# -- many voters at once ------------------------------------------------------------------------------


async def test_many_simultaneous_votes_are_all_stored(fake_studio: tuple[Studio, ScriptedBackend]) -> None:
    studio, _ = fake_studio
    battle_ids = [await battle(studio, seed=s, words=100) for s in range(5)]
    store = studio.store
    choices = ["a", "b", "tie", "both_bad"]
    start = threading.Barrier(25)
    errors: list[BaseException] = []

    def voter(n: int) -> None:
        try:
            start.wait()
            vote(store, battle_ids[n % 5], choices[n % 4], user=f"thread-{n}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=voter, args=(n,)) for n in range(25)]
    for t in threads:
        t.start()
    # ... while 25 more arrive as asyncio tasks (through worker threads, as a web server's handlers do).
    await asyncio.gather(
        *(asyncio.to_thread(vote, store, battle_ids[n % 5], choices[n % 4], f"task-{n}") for n in range(25))
    )
    for t in threads:
        t.join()
    assert errors == []
    with Session(store.engine) as session:
        stored = session.exec(select(PreferencePair)).all()
    assert len(stored) == 50
    assert {p.user for p in stored} == {f"thread-{n}" for n in range(25)} | {f"task-{n}" for n in range(25)}
    assert len(arena_outcomes(store)) == 50  # one voter, one latest vote per battle
    board = leaderboard(arena_outcomes(store), rounds=20)
    assert {row.config for row in board} == {c.label for c in CONFIGS}


# -- the export trains: one real DPOTrainer step --------------------------------------------------------


@pytest.mark.model  # a real DPOTrainer step: minutes on two cores
async def test_exported_pairs_train_one_dpo_step(
    fake_studio: tuple[Studio, ScriptedBackend], tmp_path: Path, models_dir: Path
) -> None:
    studio, _ = fake_studio
    for seed in range(2):
        made = await battle(studio, seed=seed, words=100)
        vote(studio.store, made, "a", user="ann")
    doc_id = await written_document(studio)
    old = studio.store.sections(doc_id)[0].text
    async for _ in studio.regenerate_section(doc_id, 0):
        pass
    record_section_choice(studio.store, doc_id, 0, old, studio.store.sections(doc_id)[0].text, user="bob")
    assert len(pairs(studio.store)) == 3
    studio.store.close()

    out = tmp_path / "pairs.jsonl"
    env = {"LONGWRITER_DATABASE_URL": studio.settings.db_url}
    result = CliRunner().invoke(export_app, ["dpo", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    standard = tmp_path / "standard.jsonl"
    result = CliRunner().invoke(export_app, ["dpo", "--format", "standard", "--out", str(standard)], env=env)
    assert result.exit_code == 0, result.output

    await asyncio.to_thread(train_one_step, out, tmp_path, models_dir)
    # The standard (plain string) export is accepted too: the trainer prepares it without complaint.
    await asyncio.to_thread(train_one_step, standard, tmp_path, models_dir, steps=0)


def train_one_step(path: Path, tmp_path: Path, models_dir: Path, steps: int = 1) -> None:
    import torch
    from datasets import load_dataset
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from trl import DPOConfig, DPOTrainer

    from longwriter.backends.local import cache_embedded_model

    tokenizer = AutoTokenizer.from_pretrained(cache_embedded_model(models_dir / MODEL))
    tiny = tmp_path / "tiny-llama"
    if not (tiny / "config.json").exists():  # a random llama small enough to train on two CPU cores
        torch.manual_seed(0)
        LlamaForCausalLM(
            LlamaConfig(
                vocab_size=len(tokenizer),
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
                max_position_embeddings=4096,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        ).save_pretrained(tiny)
        tokenizer.save_pretrained(tiny)
    dataset = load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    args = DPOConfig(
        output_dir=str(tmp_path / f"dpo-{path.stem}"),
        max_steps=1,
        per_device_train_batch_size=3,
        bf16=False,
        report_to=[],
        max_length=512,
        save_strategy="no",
        logging_steps=1,
        use_cpu=True,
    )
    # The model is given by path, as in a real run: TRL loads the policy and its reference from it.
    trainer = DPOTrainer(model=str(tiny), args=args, train_dataset=dataset, processing_class=tokenizer)
    prepared = trainer.train_dataset
    assert prepared.num_rows == dataset.num_rows
    assert {"prompt_ids", "chosen_ids", "rejected_ids"} <= set(prepared.column_names)
    if not steps:
        return
    before = [p.detach().clone() for p in trainer.model.parameters()]
    output = trainer.train()
    assert output.global_step == 1
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, trainer.model.parameters(), strict=True))
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert logged and all(torch.isfinite(torch.tensor(entry["loss"])) for entry in logged)
