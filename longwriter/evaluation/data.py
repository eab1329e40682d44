"""Evaluation items: LongBench-Write lines from a file, a folder or the Hub, the shipped mini set, the ruler.

A LongBench-Write item is ``{"prompt", "type", "length"}`` (``length`` in words as
:func:`longwriter.text.count_words` counts them). Every source is turned into the same
:class:`BenchItem` list, with a stable id per item so a run can be resumed item by item.
The Hub is reached only when the user names a Hub dataset id and no such local path exists.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

MINI_SET = Path(__file__).with_name("sets") / "longwriter-mini.jsonl"
"""The small bilingual set this project wrote itself (English and Chinese, 200 to 10,000 words)."""
MINI_NAMES = ("mini", "longwriter-mini")

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_PROMPT_KEYS = ("prompt", "instruction", "query", "question")
_LENGTH_KEYS = ("length", "required_length", "target_words", "words")
_ID_KEYS = ("id", "key", "uid", "idx")

RULER_LENGTHS = (1000, 2000, 5000, 10000, 20000, 30000)
"""Required lengths of LongWrite-Ruler, in words."""

RULER_PROMPTS = (
    "Write a {length}-word story about a lighthouse keeper who finds a message in a bottle.",
    "Write a {length}-word guide to starting a vegetable garden on a small city balcony.",
    "Write a {length}-word essay on how the printing press changed the way people learn.",
    "Write a {length}-word travel article about a week spent walking along a river from its source to the sea.",
    "写一篇{length}字的小说，讲述一位老钟表匠和他的学徒之间的故事。",
    "写一篇{length}字的文章，介绍上班族如何在城市里养成跑步的习惯。",
    "写一篇{length}字的科普文章，解释为什么天空是蓝色的，而晚霞是红色的。",
    "写一篇{length}字的游记，描写在江南古镇度过的一个周末。",
)
"""Eight instructions (four English, four Chinese) with the required length written into them."""


class EvalDataError(ValueError):
    """The evaluation data cannot be read; the message names the source and what is wrong."""


@dataclass(frozen=True)
class BenchItem:
    """One writing request of a benchmark: the prompt, its type and the required length in words."""

    id: str
    prompt: str
    length: int
    type: str = ""
    language: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def language_of(text: str) -> str:
    """ "zh" when the prompt is written in Chinese (any CJK ideograph), else "en"."""
    return "zh" if _CJK.search(text) else "en"


def items_from_rows(rows: Iterable[Mapping[str, Any]], source: str = "data") -> list[BenchItem]:
    """Validate LongBench-Write style rows into items; ids default to the 1-based line number."""
    items: list[BenchItem] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        where = f"{source}, item {number}"
        if not isinstance(row, Mapping):
            raise EvalDataError(f"{where}: expected an object with prompt, type and length, got {type(row).__name__}")
        prompt = next((row[k] for k in _PROMPT_KEYS if isinstance(row.get(k), str) and row[k].strip()), None)
        if prompt is None:
            raise EvalDataError(f"{where}: no prompt (expected a non-empty 'prompt' string)")
        length = _length(next((row[k] for k in _LENGTH_KEYS if row.get(k) is not None), None), where)
        raw_id = next((row[k] for k in _ID_KEYS if row.get(k) not in (None, "")), None)
        item_id = str(raw_id) if raw_id is not None else str(number)
        if item_id in seen:
            raise EvalDataError(f"{where}: the id {item_id!r} is used twice")
        seen.add(item_id)
        kind = row.get("type")
        language = row.get("language") or row.get("lang")
        items.append(
            BenchItem(
                id=item_id,
                prompt=prompt.strip(),
                length=length,
                type=str(kind).strip() if kind not in (None, "") else "general",
                language=str(language) if language else language_of(prompt),
            )
        )
    if not items:
        raise EvalDataError(f"{source} holds no items.")
    return items


def _length(value: Any, where: str) -> int:
    if isinstance(value, bool) or value is None:
        raise EvalDataError(f"{where}: no required length (expected a positive 'length' in words)")
    try:
        number = float(str(value).replace(",", "").strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise EvalDataError(f"{where}: the length {value!r} is not a number") from None
    if number != int(number) or number <= 0:
        raise EvalDataError(f"{where}: the length must be a positive whole number of words, not {value!r}")
    return int(number)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The objects of a JSON Lines file (blank lines skipped), or of a JSON file holding a list."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise EvalDataError(f"Cannot read {path}: {exc.strerror or exc}") from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise EvalDataError(f"{path} is not valid JSON: {exc}") from None
        if isinstance(data, dict):
            data = data.get("items", data.get("data"))
        if not isinstance(data, list):
            raise EvalDataError(f"{path} holds no list of items.")
        return data
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            raise EvalDataError(f"{path}, line {number} is not valid JSON: {exc}") from None
    return rows


def _rows_from_folder(folder: Path, split: str) -> list[dict[str, Any]]:
    """A ``datasets.save_to_disk`` folder (Dataset or DatasetDict), or a folder of JSON Lines files."""
    if (
        (folder / "dataset_info.json").exists()
        or (folder / "state.json").exists()
        or (folder / "dataset_dict.json").exists()
    ):
        datasets = _datasets()
        loaded = datasets.load_from_disk(str(folder))
        if isinstance(loaded, datasets.DatasetDict):
            if not loaded:
                raise EvalDataError(f"{folder} holds an empty DatasetDict.")
            loaded = loaded[split] if split in loaded else loaded[next(iter(loaded))]
        return [dict(row) for row in loaded]
    files = sorted([*folder.glob("*.jsonl"), *folder.glob("*.json")])
    if not files:
        raise EvalDataError(f"{folder} is neither a saved dataset nor a folder of .jsonl files.")
    return [row for file in files for row in read_jsonl(file)]


def _rows_from_hub(dataset_id: str, split: str) -> list[dict[str, Any]]:
    """Download a dataset from the Hugging Face Hub (only ever on the user's explicit request)."""
    datasets = _datasets()
    try:
        loaded = datasets.load_dataset(dataset_id, split=split)
    except Exception as exc:  # noqa: BLE001 - network, auth and "not found" all become one message
        raise EvalDataError(f"Could not load the Hub dataset {dataset_id!r} (split {split!r}): {exc}") from None
    return [dict(row) for row in loaded]


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise EvalDataError(
            "Reading saved datasets and Hub datasets needs the 'datasets' package: pip install datasets "
            "(or the [train] extra); JSON Lines files work without it."
        ) from None
    return datasets


def load_items(
    source: str | Path | None = None, limit: int | None = None, split: str = "train"
) -> tuple[list[BenchItem], str]:
    """Items from ``source`` and a description of where they came from.

    ``source`` is a ``.jsonl``/``.json`` file, a local folder (``datasets.save_to_disk`` output or
    JSON Lines files), a Hub dataset id such as ``owner/name``, or None / "mini" for the shipped
    mini set. ``limit`` keeps the first N items.
    """
    if source is None or str(source) in MINI_NAMES:
        path, described = MINI_SET, "mini"
        if not path.exists():
            raise EvalDataError(f"The shipped mini set is missing from {path}; reinstall or pass --data FILE.")
        rows = read_jsonl(path)
    else:
        path = Path(source).expanduser()
        described = str(source)
        if path.is_dir():
            rows = _rows_from_folder(path, split)
        elif path.exists():
            rows = read_jsonl(path)
        elif _HUB_ID.match(str(source)) and path.suffix not in (".jsonl", ".json"):
            rows = _rows_from_hub(str(source), split)
            described = f"hub:{source}"
        else:
            raise EvalDataError(
                f"There is no file or folder {source} (and it is not a Hub dataset id like owner/name)."
            )
    items = items_from_rows(rows, described)
    if limit is not None:
        if limit < 1:
            raise EvalDataError("--limit must be at least 1.")
        items = items[:limit]
    return items, described


def ruler_items(lengths: Iterable[int] = RULER_LENGTHS, prompts: Iterable[str] = RULER_PROMPTS) -> list[BenchItem]:
    """Every prompt at every required length, ids ``p<prompt>-<length>`` (prompt numbers from 1)."""
    items = []
    for number, template in enumerate(prompts, start=1):
        for length in lengths:
            prompt = template.format(length=length)
            items.append(
                BenchItem(
                    id=f"p{number}-{length}",
                    prompt=prompt,
                    length=int(length),
                    type="ruler",
                    language=language_of(prompt),
                )
            )
    return items


def items_digest(items: Iterable[BenchItem]) -> str:
    """A short content hash of the items, so a changed data file is never mistaken for the same run."""
    payload = json.dumps([item.to_json() for item in items], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
