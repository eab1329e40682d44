"""Evaluation: data sources, the judge's parser, reports recomputed from stored texts, resume, CLI and tab.

Fast tests use two in-file backends: ``FakeWriter`` writes as many words as the prompt asks for
(optionally capped, to play a model that cannot write long), and ``ScriptedJudge`` answers from a
script; the judge is reached through a real OpenAI-compatible server (tests/openai_server.py), the
way an evaluation normally talks to its judge. The end-to-end tests run the real 135M model: a
3-item LongBench-Write evaluation interrupted after its first item and continued, its report
checked number by number against the stored texts, then judged by the same small model (whose
answers mostly do not parse, and must be reported as such).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
from openai_server import serve
from typer.testing import CliRunner

from longwriter.backends import create_backend
from longwriter.backends.base import GenerationRequest, estimate_tokens
from longwriter.catalog import ModelSpec
from longwriter.evaluation import (
    BUCKETS,
    DIMENSIONS,
    MINI_SET,
    BenchItem,
    EvalDataError,
    Evaluator,
    GenConfig,
    ItemFinished,
    ItemJudged,
    ItemProgress,
    ItemStarted,
    Judge,
    JudgeParseError,
    PairJudged,
    RunEnded,
    RunStarted,
    bucket_of,
    final_report,
    load_items,
    parse_scores,
    parse_verdict,
    quality,
)
from longwriter.evaluation import runner as runner_module
from longwriter.evaluation.data import items_from_rows, ruler_items
from longwriter.settings import Settings
from longwriter.store.models import EvalRun
from longwriter.studio import Studio
from longwriter.text import count_words, length_score

GOOD = {"Relevance": 4, "Accuracy": 3, "Coherence": 5, "Clarity": 4, "Breadth and Depth": 2, "Reading Experience": 3}
GOOD_JSON = json.dumps(GOOD)


# -- in-file backends ------------------------------------------------------------------------------


def _word(k: int) -> str:
    """The k-th word of an endless vocabulary of distinct letter strings (so no loop is ever detected)."""
    k += 26 * 27
    letters = ""
    while k:
        k, r = divmod(k, 26)
        letters = chr(97 + r) + letters
    return letters


class FakeWriter:
    """Writes as many words as the prompt asks for (its first number), up to ``cap`` in all, in sentences.

    Text already given as the assistant prefix (a continuation) counts toward that number.
    """

    def __init__(self, model_id: str = "fake-writer", cap: int | None = None, delay: float = 0.0) -> None:
        self.spec = ModelSpec(id=model_id, source=model_id, context_window=8192)
        self.name = f"fake:{model_id}"
        self.cap, self.delay = cap, delay
        self.requests: list[GenerationRequest] = []
        self.written = 0

    @property
    def context_window(self) -> int:
        return self.spec.context_window

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        self.requests.append(request)
        found = re.search(r"\d+", request.prompt)
        words = int(found.group()) if found else 100
        if self.cap is not None:
            words = min(words, self.cap)
        words -= count_words(request.assistant_prefix)
        for _ in range(max(0, words // 10)):
            if self.delay:
                await asyncio.sleep(self.delay)
            sentence = " ".join(_word(self.written + i) for i in range(10))
            self.written += 10
            yield sentence.capitalize() + ". "

    async def aclose(self) -> None:
        pass


class ScriptedJudge:
    """A judge backend that answers from a script (one answer per request, in order) or a function."""

    def __init__(self, script: list[str] | Callable[[GenerationRequest], str], model_id: str = "judge-model") -> None:
        self.spec = ModelSpec(id=model_id, source=model_id, context_window=32768)
        self.name = f"scripted:{model_id}"
        self.script = script
        self.prompts: list[str] = []

    @property
    def context_window(self) -> int:
        return self.spec.context_window

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        self.prompts.append(request.prompt)
        answer = self.script(request) if callable(self.script) else self.script.pop(0)
        for i in range(0, len(answer), 16):
            yield answer[i : i + 16]

    async def aclose(self) -> None:
        pass


@pytest.fixture
async def fake_studio(settings: Settings) -> AsyncIterator[Studio]:
    studio = Studio(settings)
    studio.use_backend(FakeWriter())
    yield studio
    await studio.aclose()


def _items(*lengths: int) -> list[BenchItem]:
    kinds = ["story", "email", "essay"]
    return [
        BenchItem(
            id=f"i{n}",
            prompt=f"Write {length} words: a {kinds[n % 3]} about the sea.",
            length=length,
            type=kinds[n % 3],
            language="en",
        )
        for n, length in enumerate(lengths, start=1)
    ]


def check_against_store(report: dict[str, Any], studio: Studio) -> None:
    """Every number of a LongBench-Write report, recomputed here from the texts in the database."""
    scored = []
    for item in report["items"]:
        text = studio.store.document_text(item["document_id"])
        assert item["text"] == text
        assert item["words"] == count_words(text)
        assert item["S_l"] == pytest.approx(length_score(item["required"], count_words(text)))
        assert item["bucket"] == bucket_of(item["required"])
        scored.append(item)
    expected = sum(i["S_l"] for i in scored) / len(scored)
    assert report["summary"]["S_l"] == pytest.approx(expected)
    assert report["length"]["S_l"] == pytest.approx(expected)
    for group, key in (("by_bucket", "bucket"), ("by_type", "type"), ("by_language", "language")):
        for name, stats in report["length"][group].items():
            members = [i for i in scored if i[key] == name]
            assert stats["n"] == len(members)
            assert stats["S_l"] == pytest.approx(sum(i["S_l"] for i in members) / len(members))
    assert sum(s["n"] for s in report["length"]["by_bucket"].values()) == len(scored)


# -- the judge's parser -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        GOOD_JSON,
        f"The response stays on topic but is thin.\n{GOOD_JSON}",
        f"Analysis: clear and coherent.\n```json\n{GOOD_JSON}\n```",
        f"Analysis.\n```\n{json.dumps(GOOD, indent=2)}\n```\nThat is my verdict.",
        'Format asked: {"Relevance": <1-5>, ...}. My scores:\n' + GOOD_JSON,
        (
            '{"scores": {"relevance": 4, "accuracy": "3", "coherence": 5, "clarity": 4, "breadth_and_depth": 2, '
            '"reading_experience": 3}}'
        ),
        "<think>Let me weigh it {carefully}.</think>Fine work.\n" + GOOD_JSON,
        "It uses {curly} braces in prose, then answers.\n" + GOOD_JSON,
    ],
    ids=[
        "bare",
        "analysis-then-json",
        "fenced-json",
        "fenced-multiline",
        "shape-echo-first",
        "nested-loose-keys",
        "think-block",
        "stray-braces",
    ],
)
def test_parser_reads_well_formed_and_fenced_answers(answer: str) -> None:
    assert parse_scores(answer) == GOOD


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Analysis: good.\n" + GOOD_JSON[:60], "cut off"),
        ("Analysis: good.\n```json\n" + GOOD_JSON[:-1] + "\n```", "cut off"),
        ("I would rate this response quite highly overall, maybe a four.", "no JSON object"),
        ("", "empty"),
        ("{Relevance: 4, Accuracy: 3}", "invalid JSON"),
        ('{"Relevance": 4, "Accuracy": 3}', "missing dimensions: Coherence"),
        (json.dumps({**GOOD, "Clarity": 7}), "Clarity must be a number from 1 to 5"),
        (json.dumps({**GOOD, "Clarity": "good"}), "Clarity must be a number"),
        (json.dumps({**GOOD, "Clarity": True}), "Clarity must be a number"),
        ('{"verdict": "great"}', "none of the six dimensions"),
        ("\x00\x01 garbage ]]}{{ ~~~", "JSON"),
        ("asdf qwer ;;; 12345 !!", "no JSON object"),
    ],
    ids=[
        "truncated",
        "truncated-in-fence",
        "prose-only",
        "empty",
        "not-json",
        "missing",
        "out-of-range",
        "word-score",
        "boolean-score",
        "wrong-keys",
        "garbage",
        "garbage-no-braces",
    ],
)
def test_parser_rejects_truncated_and_garbage_answers_with_a_reason(answer: str, reason: str) -> None:
    with pytest.raises(JudgeParseError, match=reason):
        parse_scores(answer)


@pytest.mark.parametrize(
    ("answer", "winner"),
    [
        ('{"winner": "A"}', "a"),
        ('B reads better.\n```json\n{"winner": "B"}\n```', "b"),
        ('{"Winner": "Tie"}', "tie"),
        ('{"winner": "Response A"}', "a"),
    ],
)
def test_verdict_parser(answer: str, winner: str) -> None:
    assert parse_verdict(answer) == winner


@pytest.mark.parametrize("answer", ['{"winner": "C"}', '{"winner": "A"', "A is better.", '{"better": "A"}'])
def test_verdict_parser_rejects(answer: str) -> None:
    with pytest.raises(JudgeParseError):
        parse_verdict(answer)


def test_quality_scale_is_mean_of_mean_minus_one_times_25() -> None:
    assert quality(dict.fromkeys(DIMENSIONS, 5)) == 100.0
    assert quality(dict.fromkeys(DIMENSIONS, 1)) == 0.0
    assert quality(GOOD) == pytest.approx(sum((v - 1) * 25 for v in GOOD.values()) / 6)


def test_buckets_follow_longbench_write() -> None:
    assert [b[0] for b in BUCKETS] == ["[0,500)", "[500,2k)", "[2k,4k)", "[4k,20k]"]
    cases = {
        1: "[0,500)",
        499: "[0,500)",
        500: "[500,2k)",
        1999: "[500,2k)",
        2000: "[2k,4k)",
        3999: "[2k,4k)",
        4000: "[4k,20k]",
        20000: "[4k,20k]",
        30000: "(20k,inf)",
    }
    assert {n: bucket_of(n) for n in cases} == cases


# -- data -------------------------------------------------------------------------------------------


def test_mini_set_is_bilingual_and_spans_every_bucket() -> None:
    items, source = load_items(None)
    assert source == "mini" and MINI_SET.exists()
    assert 10 <= len(items) <= 16
    assert {i.language for i in items} == {"en", "zh"}
    assert min(i.length for i in items) == 200 and max(i.length for i in items) == 10_000
    assert {bucket_of(i.length) for i in items} == {b[0] for b in BUCKETS}
    assert len({i.type for i in items}) >= 4
    assert len({i.id for i in items}) == len(items)


def test_jsonl_saved_dataset_and_hub_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [
        {"prompt": "Write 300 words about tea.", "type": "Popular Science", "length": 300},
        {"prompt": "写一篇800字的文章，介绍茶。", "type": "Popular Science", "length": "800"},
    ]
    path = tmp_path / "longbench_write.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    items, source = load_items(path)
    assert source == str(path)
    assert [(i.id, i.length, i.language) for i in items] == [("1", 300, "en"), ("2", 800, "zh")]

    rows = [{**r, "length": int(r["length"])} for r in rows]  # a dataset column has one type
    saved = tmp_path / "saved"
    datasets.Dataset.from_list(rows).save_to_disk(str(saved))
    assert load_items(saved)[0] == items
    dict_saved = tmp_path / "saved-dict"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(rows[:1])}).save_to_disk(str(dict_saved))
    assert load_items(dict_saved, split="test")[0] == items[:1]

    asked: list[tuple[str, str]] = []

    def fake_load_dataset(name: str, split: str) -> Any:  # the Hub is never reached in tests
        asked.append((name, split))
        return datasets.load_from_disk(str(saved))

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    hub_items, hub_source = load_items("THUDM/LongBench-Write", limit=1)
    assert asked == [("THUDM/LongBench-Write", "train")]
    assert hub_source == "hub:THUDM/LongBench-Write" and hub_items == items[:1]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"prompt": "x"}], "no required length"),
        ([{"prompt": "x", "length": -5}], "positive whole number"),
        ([{"length": 300}], "no prompt"),
        ([{"id": "a", "prompt": "x", "length": 1}, {"id": "a", "prompt": "y", "length": 2}], "used twice"),
        ([], "no items"),
    ],
)
def test_bad_rows_are_refused_with_their_position(rows: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(EvalDataError, match=message):
        items_from_rows(rows, "data.jsonl")


def test_missing_source_and_bad_json_line(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="no file or folder"):
        load_items(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "length": 100}\n{oops\n', encoding="utf-8")
    with pytest.raises(EvalDataError, match="line 2"):
        load_items(bad)


def test_config_parsing() -> None:
    config = GenConfig.parse("smollm2-135m,mode=single,temperature=0.5,seed=3")
    assert config == GenConfig(model="smollm2-135m", mode="single", sampling={"temperature": 0.5, "seed": 3})
    assert config.label == "smollm2-135m/single,seed=3,temperature=0.5"
    assert GenConfig.parse("model=x,name=mine").label == "mine"
    assert GenConfig.from_json(config.to_json()) == config
    for bad in ("mode=fast", "model=x,colour=red", "model=x,temperature=hot"):
        with pytest.raises(ValueError):
            GenConfig.parse(bad)


# -- runs with fake backends ------------------------------------------------------------------------


async def test_longbench_write_report_with_an_openai_judge(
    fake_studio: Studio, settings: Settings, tmp_path: Path
) -> None:
    script = [
        f"Solid and relevant.\n```json\n{GOOD_JSON}\n```",  # item 1: fenced, first try
        "I cannot decide.",
        "Still no idea.",
        '{"Relevance": "high"}',  # item 2: unparsable after 3 answers
        "Good.\n" + GOOD_JSON[:40],
        "Good.\n" + json.dumps({**GOOD, "Clarity": 5}),  # item 3: truncated, then fine
    ]
    judge_backend = ScriptedJudge(script)
    out = tmp_path / "report.json"
    with serve(judge_backend) as server:  # the judge is an OpenAI-compatible endpoint, as usual
        judge_settings = settings.model_copy(update={"backend": "openai", "base_url": server.base_url})
        backend = await create_backend(judge_settings, "judge-model")
        try:
            judge = Judge(backend, attempts=3, max_tokens=200)
            events = Evaluator(fake_studio).longbench_write(
                _items(150, 600, 2500),
                GenConfig(model="fake-writer", mode="single"),
                source="test",
                judge=judge,
                out=out,
            )
            seen = [e async for e in events]
        finally:
            await backend.aclose()
    ended = seen[-1]
    assert isinstance(ended, RunEnded) and ended.status == "done" and ended.error is None
    report = ended.report
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(report, default=str))
    check_against_store(report, fake_studio)
    assert [i["words"] for i in report["items"]] == [150, 600, 2500]
    assert report["summary"]["S_l"] == 100.0

    q = report["quality"]
    assert q["judge"]["id"] == "judge-model" and q["judged"] == 2 and q["unparsable_count"] == 1
    (bad,) = q["unparsable"]
    assert bad["id"] == "i2" and bad["attempts"] == 3 and "missing dimensions" in bad["error"]
    third = {**GOOD, "Clarity": 5}
    for d in DIMENSIONS:
        assert q["mean_scores"][d] == pytest.approx((GOOD[d] + third[d]) / 2)
        assert q["dimensions"][d] == pytest.approx(((GOOD[d] + third[d]) / 2 - 1) * 25)
    assert q["S_q"] == pytest.approx((quality(GOOD) + quality(third)) / 2)
    assert report["summary"]["S"] == pytest.approx((100.0 + q["S_q"]) / 2)
    by_id = {i["id"]: i for i in report["items"]}
    assert by_id["i1"]["judgement"]["attempts"] == 1 and by_id["i3"]["judgement"]["attempts"] == 2
    assert by_id["i3"]["S_q"] == pytest.approx(quality(third))
    assert "cut off" in judge_backend.prompts[5] and "could not be used" in judge_backend.prompts[5]
    assert "Do not let the length" in judge_backend.prompts[0] and "Write 150 words" in judge_backend.prompts[0]
    assert [e.quality is None for e in seen if isinstance(e, ItemJudged)] == [False, True, False]
    assert set(ended.plots) == {"lengths", "buckets"}
    assert all(Path(p).stat().st_size > 1000 for p in ended.plots.values())

    run = Evaluator(fake_studio).records.run(report["run_id"])
    assert run is not None and run.status == "done" and run.report is not None
    assert run.report["summary"] == json.loads(json.dumps(report["summary"]))
    assert "text" not in run.report["items"][0]  # the texts live in the documents
    doc = fake_studio.store.get_document(report["items"][0]["document_id"])
    assert doc is not None and doc.mode == "single" and doc.model == "fake-writer" and doc.title.startswith("eval ")


async def test_judge_backend_failure_fails_the_run_without_scoring(fake_studio: Studio, tmp_path: Path) -> None:
    class DeadJudge(ScriptedJudge):
        async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
            from longwriter.backends import BackendError

            raise BackendError("Cannot reach the model server")
            yield ""

    ended = await final_report(
        Evaluator(fake_studio).longbench_write(
            _items(150),
            GenConfig(model="fake-writer", mode="single"),
            judge=Judge(DeadJudge([])),
            out=tmp_path / "r.json",
        )
    )
    assert ended.status == "failed" and "Cannot reach" in (ended.error or "")
    assert ended.report["items"][0]["judgement"] is None  # not "unparsable": it can be judged on the next run
    assert ended.report["quality"]["not_judged"][0]["id"] == "i1"


async def test_stop_mid_document_then_resume_continues_that_document(
    fake_studio: Studio, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    slow = FakeWriter("slow-writer", delay=0.02)
    fake_studio.use_backend(slow)
    monkeypatch.setattr(runner_module, "PROGRESS_SECONDS", 0.0)
    evaluator = Evaluator(fake_studio)
    config = GenConfig(model="slow-writer", mode="single")
    items = _items(100, 300, 100)

    seen: list[Any] = []
    async for event in evaluator.longbench_write(items, config, out=tmp_path / "r.json"):
        seen.append(event)
        if isinstance(event, RunStarted):
            run_id = event.run_id
        if isinstance(event, ItemProgress) and event.key == "i2" and event.words > 0:
            doc_id = next(r.document_id for r in evaluator.records.items(run_id) if r.item_id == "i2")
            assert fake_studio.stop(doc_id)  # the Stop button
    ended = seen[-1]
    assert isinstance(ended, RunEnded) and ended.status == "stopped"
    assert [i["status"] for i in ended.report["items"]] == ["done", "writing", "pending"]
    partial = fake_studio.store.document_text(doc_id)
    assert 0 < count_words(partial) < 300

    again = [e async for e in evaluator.longbench_write(items, config, out=tmp_path / "r.json")]
    started = again[0]
    assert isinstance(started, RunStarted) and started.resumed and started.run_id == run_id and started.done == 1
    assert [e.key for e in again if isinstance(e, ItemStarted)] == ["i2", "i3"]
    assert again[-1].status == "done"
    rows = {r.item_id: r for r in evaluator.records.items(run_id)}
    assert rows["i2"].document_id == doc_id  # the same document, continued
    assert fake_studio.store.document_text(doc_id).startswith(partial.strip())
    check_against_store(again[-1].report, fake_studio)


async def test_fresh_and_changed_items_start_new_runs(fake_studio: Studio, tmp_path: Path) -> None:
    evaluator = Evaluator(fake_studio)
    config = GenConfig(model="fake-writer", mode="single")
    first = await final_report(evaluator.longbench_write(_items(100), config, out=tmp_path / "a.json", plots=False))
    same = [e async for e in evaluator.longbench_write(_items(100), config, out=tmp_path / "a.json", plots=False)]
    assert same[0].resumed and same[0].run_id == first.report["run_id"]
    assert not [e for e in same if isinstance(e, ItemStarted)]  # nothing left to write
    assert same[-1].report["summary"] == first.report["summary"]
    fresh = [
        e
        async for e in evaluator.longbench_write(_items(100), config, fresh=True, out=tmp_path / "b.json", plots=False)
    ]
    assert not fresh[0].resumed
    other = [e async for e in evaluator.longbench_write(_items(120), config, out=tmp_path / "c.json", plots=False)]
    assert not other[0].resumed
    assert len(evaluator.records.runs()) == 3


async def test_ruler_reports_the_largest_length_reached(fake_studio: Studio, tmp_path: Path) -> None:
    fake_studio.use_backend(FakeWriter("short-writer", cap=250))
    configs = [GenConfig(model="fake-writer", mode="single"), GenConfig(model="short-writer", mode="single")]
    prompts = ("Write a {length}-word story about a kite.", "写一篇{length}字的文章，介绍风筝。")
    ended = await final_report(
        Evaluator(fake_studio).ruler(configs, lengths=(100, 200, 400), prompts=prompts, out=tmp_path / "ruler.json")
    )
    report = ended.report
    assert ended.status == "done" and report["kind"] == "ruler"
    assert len(report["items"]) == 2 * 2 * 3
    full, short = report["configs"]["fake-writer/single"], report["configs"]["short-writer/single"]
    assert full["reached"] == 400 and full["max_words"] == 400
    assert short["reached"] == 200 and short["max_words"] == 250
    assert short["lengths"]["400"]["median_words"] == 250
    assert short["lengths"]["400"]["S_l"] == pytest.approx(length_score(400, 250))
    assert report["summary"]["reached"] == {"fake-writer/single": 400, "short-writer/single": 200}
    assert Path(ended.plots["lengths"]).stat().st_size > 1000
    assert ruler_items((1000,))[4].prompt.startswith("写一篇1000字")


async def test_arena_judges_every_pair_in_both_orders_and_rates(fake_studio: Studio, tmp_path: Path) -> None:
    fake_studio.use_backend(FakeWriter("terse-writer", cap=120))

    def prefer_longer(request: GenerationRequest) -> str:
        if "[Response A]" not in request.prompt:
            return "?"
        a = request.prompt.split("[Response A]")[1].split("[Response B]")[0]
        b = request.prompt.split("[Response B]")[1].split("Answer in two parts")[0]
        if "mystery" in request.prompt:
            return "I cannot tell."  # unparsable, every time
        return '{"winner": "A"}' if count_words(a) > count_words(b) else 'B is richer. {"winner": "B"}'

    items = _items(300, 400) + [BenchItem("i3", "Write 200 words: a mystery.", 200, "story", "en")]
    configs = [
        GenConfig(model="fake-writer", mode="single", name="full"),
        GenConfig(model="terse-writer", mode="single", name="terse"),
    ]
    judge = Judge(ScriptedJudge(prefer_longer), attempts=2)
    events = [e async for e in Evaluator(fake_studio).arena(items, configs, judge, out=tmp_path / "arena.json")]
    ended = events[-1]
    report = ended.report
    assert ended.status == "done"
    assert len([e for e in events if isinstance(e, PairJudged)]) == 3 * 2
    orders = {(c["item"], c["a"], c["b"]) for c in report["comparisons"]}
    assert orders == {(i, a, b) for i in ("i1", "i2", "i3") for a, b in (("full", "terse"), ("terse", "full"))}
    (pair,) = report["pairs"]
    assert (pair["a"], pair["a_wins"], pair["b_wins"], pair["ties"], pair["unparsable"]) == ("full", 4, 0, 0, 2)
    assert pair["order_agreement"] == 1.0
    assert report["summary"]["unparsable"] == 2 and report["summary"]["leader"] == "full"
    ratings = {r["config"]: r for r in report["ratings"]}
    assert ratings["full"]["rating"] > ratings["terse"]["rating"]
    full = ratings["full"]
    assert full["wins"] == 4 and full["lower"] <= full["rating"] <= full["upper"]
    assert set(ended.plots) == {"lengths", "buckets", "ratings"}
    assert report["length"]["terse"]["S_l"] < report["length"]["full"]["S_l"]

    again = [e async for e in Evaluator(fake_studio).arena(items, configs, judge, out=tmp_path / "arena.json")]
    assert not [e for e in again if isinstance(e, (ItemStarted, PairJudged))]  # all stored: nothing redone


# -- CLI and app ------------------------------------------------------------------------------------


def test_cli_longbench_write_runs_reports_and_resumes(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from longwriter import eval_cli

    def studio(model: str | None = None, backend: str | None = None) -> Studio:
        made = Studio(settings)
        made.use_backend(FakeWriter())
        return made

    monkeypatch.setattr(eval_cli, "_studio", studio)
    data = tmp_path / "items.jsonl"
    data.write_text(
        "\n".join(
            json.dumps({"prompt": f"Write {n} words about rain.", "type": "essay", "length": n}) for n in (150, 700)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "report.json"
    runner = CliRunner()
    args = ["longbench-write", "--data", str(data), "--model", "fake-writer", "--mode", "single", "--out", str(out)]
    result = runner.invoke(eval_cli.eval_app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["summary"]["done"] == 2 and report["summary"]["S_l"] == 100.0
    assert "S_l by length bucket" in result.output and "[500,2k)" in result.output
    assert Path(report["plots"]["lengths"]).exists()

    again = runner.invoke(eval_cli.eval_app, args)
    flat = " ".join(again.output.split())  # rich wraps long lines
    assert again.exit_code == 0 and "Continuing run" in flat and "2 of 2 items already written" in flat
    listed = runner.invoke(eval_cli.eval_app, ["runs", "--json"])
    assert listed.exit_code == 0 and report["run_id"] in listed.output
    shown = runner.invoke(eval_cli.eval_app, ["report", report["run_id"], "--out", str(tmp_path / "again.json")])
    assert shown.exit_code == 0
    assert json.loads((tmp_path / "again.json").read_text())["summary"]["S_l"] == 100.0
    missing = runner.invoke(eval_cli.eval_app, ["longbench-write", "--data", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 1 and "no file or folder" in missing.output
    lonely = runner.invoke(eval_cli.eval_app, ["arena", "--config", "model=fake-writer"])
    assert lonely.exit_code == 1 and "at least two" in lonely.output

    ruler = runner.invoke(
        eval_cli.eval_app,
        [
            "ruler",
            "--config",
            "model=fake-writer,mode=single",
            "--lengths",
            "100,300",
            "--prompts",
            "2",
            "--out",
            str(tmp_path / "ruler.json"),
        ],
    )
    assert ruler.exit_code == 0, ruler.output
    ruler_report = json.loads((tmp_path / "ruler.json").read_text(encoding="utf-8"))
    assert ruler_report["summary"]["reached"] == {"fake-writer/single": 300}
    assert [i["id"] for i in ruler_report["items"]] == ["p1-100", "p1-300", "p2-100", "p2-300"]
    assert "写一篇" in ruler_report["items"][2]["prompt"]  # English and Chinese alternate
    own = runner.invoke(
        eval_cli.eval_app,
        [
            "ruler",
            "--config",
            "model=fake-writer,mode=single",
            "--data",
            str(data),
            "--out",
            str(tmp_path / "own.json"),
            "--no-plots",
        ],
    )
    assert own.exit_code == 0, own.output
    assert json.loads((tmp_path / "own.json").read_text())["source"] == str(data)


async def test_evaluate_tab_runs_a_small_eval_and_shows_report_and_plots(fake_studio: Studio, tmp_path: Path) -> None:
    import gradio as gr

    from ui.evaluate import MINI, NO_JUDGE, EvaluateTab, build_evaluate_tab

    with gr.Blocks():
        with gr.Tab("Evaluate"):
            build_evaluate_tab(fake_studio)
        tab = EvaluateTab(fake_studio, out_dir=tmp_path)
        tab.build()
    outputs = [o async for o in tab.run(MINI, None, 2, "fake-writer", "single", NO_JUDGE)]
    status, summary, rows, lengths_png, buckets_png, ratings_png, report_path = outputs[-1]
    assert "Done." in status and "S_l by length bucket" in summary and "| [0,500) | 2 |" in summary
    assert [r[0] for r in rows] == ["en-fable", "zh-manual"]
    assert Path(lengths_png).exists() and Path(buckets_png).exists()
    assert ratings_png["visible"] is False
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    check_against_store(report, fake_studio)
    choices = tab.refresh()["choices"]
    assert choices and choices[0][1] == report["run_id"]
    shown = tab.show(report["run_id"])
    assert shown[1] == summary and Path(shown[3]).exists()
    bad = [o async for o in tab.run("Uploaded LongBench-Write .jsonl", None, 2, "fake-writer", "single", NO_JUDGE)]
    assert "Upload a LongBench-Write" in bad[-1][0]

    # an arena run from the terminal shows its leaderboard and ratings plot in the tab too
    fake_studio.use_backend(FakeWriter("terse-writer", cap=120))
    configs = [GenConfig(model="fake-writer", mode="single"), GenConfig(model="terse-writer", mode="single")]
    judge = Judge(ScriptedJudge(lambda request: '{"winner": "A"}'))
    arena = await final_report(Evaluator(fake_studio).arena(_items(300), configs, judge, plots=False))
    shown = tab.show(arena.report["run_id"])
    assert "Leaderboard" in shown[1] and shown[5]["visible"] and Path(shown[5]["value"]).exists()


# -- end to end with the real 135M model -------------------------------------------------------------


@pytest.mark.model
async def test_three_item_eval_with_the_real_model_interrupted_resumed_and_judged(
    studio: Studio, local_backend: Any, tmp_path: Path
) -> None:
    items = [
        BenchItem(
            "note",
            "Write a thank-you note of about 150 words to a neighbour who watered your plants.",
            150,
            "Functional Writing",
            "en",
        ),
        BenchItem(
            "story",
            "Write a very short story of about 200 words about a cat who learns to swim.",
            200,
            "Literature",
            "en",
        ),
        BenchItem("season", "写一篇约150字的短文，介绍你最喜欢的季节。", 150, "Literature", "zh"),
    ]
    config = GenConfig(mode="single", sampling={"seed": 7})
    evaluator = Evaluator(studio)
    out = tmp_path / "report.json"

    async with aclosing(evaluator.longbench_write(items, config, source="e2e", out=out)) as events:
        async for event in events:  # interrupted after the first item, like Ctrl-C
            if isinstance(event, RunStarted):
                run_id = event.run_id
            if isinstance(event, ItemFinished):
                break
    run = evaluator.records.run(run_id)
    assert isinstance(run, EvalRun) and run.status == "stopped"
    rows = evaluator.records.items(run_id)
    assert [r.status for r in rows] == ["done", "pending", "pending"]
    first_doc = rows[0].document_id
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["done"] == 1  # the JSON shows progress too

    resumed = [e async for e in evaluator.longbench_write(items, config, source="e2e", out=out)]
    assert resumed[0].resumed and resumed[0].run_id == run_id and resumed[0].done == 1
    assert [e.key for e in resumed if isinstance(e, ItemStarted)] == ["story", "season"]  # only what was missing
    ended = resumed[-1]
    assert isinstance(ended, RunEnded) and ended.status == "done"
    report = ended.report
    assert len(studio.store.list_documents()) == 3
    assert len(studio.store.generations(first_doc)) == 1  # item 1 was not written again
    assert all(i["status"] == "done" and i["words"] > 0 for i in report["items"])
    check_against_store(report, studio)
    assert json.loads(out.read_text(encoding="utf-8"))["summary"] == json.loads(json.dumps(report["summary"]))
    assert report["length"]["by_language"]["zh"]["n"] == 1

    # the same run, now judged by the same small model: nothing is rewritten, every item is either
    # scored (six numbers from 1 to 5) or listed as unparsable with its reason
    judge = Judge(local_backend, attempts=2, max_tokens=64)
    judged = [e async for e in evaluator.longbench_write(items, config, source="e2e", judge=judge, out=out)]
    assert not [e for e in judged if isinstance(e, ItemStarted)]
    assert len([e for e in judged if isinstance(e, ItemJudged)]) == 3
    q = judged[-1].report["quality"]
    assert q["judged"] + q["unparsable_count"] == 3 and not q["not_judged"]
    for item in judged[-1].report["items"]:
        j = item["judgement"]
        assert j["judge"] == "smollm2-135m" and 1 <= j["attempts"] <= 2 and len(j["answers"]) == j["attempts"]
        if j["scores"] is None:
            assert j["error"] and j["attempts"] == 2
            assert item["id"] in {u["id"] for u in q["unparsable"]}
        else:
            assert set(j["scores"]) == set(DIMENSIONS) and all(1 <= v <= 5 for v in j["scores"].values())
    if q["judged"]:
        scored = [i["judgement"]["scores"] for i in judged[-1].report["items"] if i["judgement"]["scores"]]
        assert q["S_q"] == pytest.approx(sum(quality(s) for s in scored) / len(scored))
    else:
        assert q["S_q"] is None and judged[-1].report["summary"]["S"] is None
    check_against_store(judged[-1].report, studio)
