"""Training data: the studio's database, exported JSONL, ``datasets`` folders or the Hub, as TRL datasets.

Every source is read into plain rows first, then shaped for the run's prompt format in one place:
with the tokenizer's chat template the rows stay conversational (TRL applies the template); with a
raw format (``llama-inst``, ``glm4``, ``zero-think``) the prompt is rendered by ``longwriter.formats``
as the studio renders it at inference (``training.prompting``), so a checkpoint trains on the prompts
it will see.

* SFT: ``{"messages": [...]}`` conversations (LongWriter-6k's format); the database gives one per
  finished document, its instruction (with the length made explicit) and its text as it stands now,
  user edits included.
* DPO: TRL's conversational preference rows ``{"prompt", "chosen", "rejected"}``, the format of the
  studio's preference export, or the preference tables of its database.
* GRPO: prompts with their length target in the ``min_words`` / ``max_words`` columns, which TRL
  hands to the length reward.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from longwriter.preferences import Filters, dpo_records, pairs
from longwriter.prompts import single_prompt
from longwriter.settings import Settings
from training.config import LengthTargets, Source
from training.prompting import Prompting
from training.targets import length_target

if TYPE_CHECKING:
    from datasets import Dataset

    from longwriter.store import Store

Row = dict[str, Any]
Messages = list[dict[str, str]]

_EVERY_DOCUMENT = 2**62


class DataError(ValueError):
    """A source is unreadable or its rows do not have the shape the task needs."""


# -- reading sources ------------------------------------------------------------------------------


def read_rows(source: Source) -> list[Row]:
    """The rows of a file, ``save_to_disk`` folder or ``load_dataset`` source, first ``limit`` only."""
    if source.kind == "database":
        raise DataError("database sources are read by the task's own loader")
    assert source.path is not None  # the config requires it for every other kind
    if source.kind == "jsonl":
        return _read_jsonl(Path(source.path).expanduser(), source.limit)
    import datasets

    try:
        if source.kind == "disk":
            loaded = datasets.load_from_disk(str(Path(source.path).expanduser()))
            dataset = loaded[source.split] if isinstance(loaded, datasets.DatasetDict) else loaded
        else:
            dataset = datasets.load_dataset(source.path, source.name, split=source.split)
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"cannot load {source.kind} source {source.path!r}: {exc}") from exc
    if source.limit is not None:
        dataset = dataset.select(range(min(source.limit, len(dataset))))
    return list(dataset)


def _read_jsonl(path: Path, limit: int | None) -> list[Row]:
    """JSON lines read directly: Arrow's schema inference trips over columns mixing text and message lists."""
    rows: list[Row] = []
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if limit is not None and len(rows) >= limit:
                    break
                if line.strip():
                    rows.append(json.loads(line))
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}, line {number}: not JSON ({exc})") from exc
    return rows


@contextmanager
def _store(source: Source, settings: Settings) -> Iterator[Store]:
    from longwriter.store import Store

    store = Store(source.path or settings.db_url)
    try:
        yield store
    finally:
        store.close()


def _dataset(rows: list[Row], what: str) -> Dataset:
    from datasets import Dataset

    if not rows:
        raise DataError(f"the configured sources hold no {what}")
    return Dataset.from_list(rows)


# -- message helpers ------------------------------------------------------------------------------


def _as_messages(value: Any, role: str) -> Messages:
    """A message list as is; a plain string as one message of ``role``."""
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list) and all(isinstance(m, dict) and "role" in m and "content" in m for m in value):
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in value]
    raise DataError(f"expected text or a list of {{role, content}} messages, got {type(value).__name__}")


def _last(messages: Messages, role: str) -> str:
    for message in reversed(messages):
        if message["role"] == role:
            return message["content"]
    raise DataError(f"no {role} message in {messages!r:.200}")


def _single_turn_prompt(messages: Messages, prompting: Prompting) -> str:
    """A raw-format prompt rendered from an optional system message and one user message."""
    system = [m["content"] for m in messages if m["role"] == "system"]
    users = [m["content"] for m in messages if m["role"] == "user"]
    if len(users) != 1 or len(system) > 1 or len(messages) != len(users) + len(system):
        raise DataError(
            f"the {prompting.format.name} format renders single-turn prompts only, got {len(messages)} messages"
        )
    return prompting.render(users[0], system=system[0] if system else None)


# -- SFT ------------------------------------------------------------------------------------------


def sft_dataset(sources: list[Source], prompting: Prompting, settings: Settings) -> Dataset:
    """Conversations for SFT: ``messages`` rows with a chat template, ``prompt``/``completion`` text otherwise."""
    conversations: list[Messages] = []
    for source in sources:
        if source.kind == "database":
            conversations += _finished_documents(source, settings)
        else:
            conversations += [_conversation(row) for row in read_rows(source)]
    return _dataset([_sft_example(c, prompting) for c in conversations], "conversations")


def _finished_documents(source: Source, settings: Settings) -> list[Messages]:
    with _store(source, settings) as store:
        documents = [d for d in store.list_documents(limit=_EVERY_DOCUMENT) if d.status == "done"]
        found = []
        for doc in documents[: source.limit]:
            text = store.document_text(doc.id)
            if text:
                prompt = single_prompt(doc.instruction, doc.target_words)
                found.append([{"role": "user", "content": prompt}, {"role": "assistant", "content": text}])
    return found


def _conversation(row: Row) -> Messages:
    if "messages" not in row:
        raise DataError(f"SFT rows need a 'messages' list (LongWriter-6k format); this one has {sorted(row)}")
    messages = _as_messages(row["messages"], "user")
    if messages[-1]["role"] != "assistant":
        raise DataError("an SFT conversation must end with the assistant's reply")
    return messages


def _sft_example(messages: Messages, prompting: Prompting) -> Row:
    if prompting.conversational:
        return {"messages": messages}
    return {"prompt": _single_turn_prompt(messages[:-1], prompting), "completion": messages[-1]["content"]}


# -- DPO ------------------------------------------------------------------------------------------


def load_preference_pairs(source: Source, settings: Settings) -> list[Row]:
    """Preference rows ``{"prompt", "chosen", "rejected"}`` (TRL's conversational format) from one source.

    The database kind reads the studio's preference pairs directly (arena votes, kept regenerations,
    substantial edits; ties and both-bad votes excluded, as in ``longwriter export dpo``); files and
    datasets hold that export.
    """
    if source.kind == "database":
        with _store(source, settings) as store:
            rows: list[Row] = dpo_records(pairs(store, Filters()), "conversational")
        return rows[: source.limit]
    rows = read_rows(source)
    for row in rows:
        missing = {"prompt", "chosen", "rejected"} - set(row)
        if missing:
            raise DataError(f"preference rows need prompt, chosen and rejected; missing {sorted(missing)}")
    return rows


def preference_dataset(sources: list[Source], prompting: Prompting, settings: Settings) -> Dataset:
    """Preference pairs for DPO, conversational with a chat template, rendered text with a raw format."""
    rows = [row for source in sources for row in load_preference_pairs(source, settings)]
    return _dataset([_pair_example(row, prompting) for row in rows], "preference pairs")


def _pair_example(row: Row, prompting: Prompting) -> Row:
    prompt = _as_messages(row["prompt"], "user")
    chosen = _as_messages(row["chosen"], "assistant")
    rejected = _as_messages(row["rejected"], "assistant")
    if prompting.conversational:
        return {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    return {
        "prompt": _single_turn_prompt(prompt, prompting),
        "chosen": _last(chosen, "assistant"),
        "rejected": _last(rejected, "assistant"),
    }


# -- GRPO -----------------------------------------------------------------------------------------


def prompt_dataset(sources: list[Source], prompting: Prompting, length: LengthTargets, settings: Settings) -> Dataset:
    """GRPO prompts with their word range in ``min_words``/``max_words``.

    A target from a column (or the database) that the instruction does not state is added to the
    prompt the way the studio's single-pass mode adds it, so the model is told what it is scored on.
    """
    requests: list[tuple[str, int | None]] = []
    for source in sources:
        if source.kind == "database":
            requests += _document_requests(source, settings)
        else:
            requests += [_request(row, source) for row in read_rows(source)]
    rows = []
    for instruction, target in requests:
        words = length_target(instruction, target=target, tolerance=length.tolerance, default=length.default_range)
        text = single_prompt(instruction, target) if target else instruction
        if prompting.conversational:
            prompt: str | Messages = [{"role": "user", "content": text}]
        else:
            prompt = prompting.render(text)
        rows.append({"prompt": prompt, "min_words": words.low, "max_words": words.high})
    return _dataset(rows, "prompts")


def _document_requests(source: Source, settings: Settings) -> list[tuple[str, int | None]]:
    with _store(source, settings) as store:
        documents = store.list_documents(limit=source.limit or _EVERY_DOCUMENT)
    return [(doc.instruction, doc.target_words) for doc in documents]


def _request(row: Row, source: Source) -> tuple[str, int | None]:
    value = row.get(source.prompt_field, row.get("messages"))
    if value is None:
        raise DataError(f"prompt rows need a {source.prompt_field!r} column or 'messages'; this one has {sorted(row)}")
    instruction = value if isinstance(value, str) else _last(_as_messages(value, "user"), "user")
    raw = row.get(source.target_field) if source.target_field else None
    try:
        return instruction, int(raw) if raw is not None else None
    except (TypeError, ValueError) as exc:
        raise DataError(f"the {source.target_field!r} column must hold a word count, got {raw!r}") from exc
