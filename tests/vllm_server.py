"""A real vLLM server for the tests marked ``vllm``: one per test session, on the embedded model.

vLLM pins its own torch and transformers, so it lives in its own environment (``.venv-vllm``, made by
``scripts/install.sh vllm``; ``VLLM_TEST_PYTHON`` names another interpreter). The server serves
the safetensors folder the local backend converts the embedded GGUF into, under a name that is
neither the catalog id nor the folder, so every test must say which name it asks for. Its Prometheus
``/metrics`` are the independent witness of what the engine did: requests running, finished, tokens
generated, prefix-cache hits.

Without the environment, or when the server cannot start, the tests skip on a workstation and fail
under ``CI=true``.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from web import free_port

from longwriter.backends.local import cache_embedded_model

ROOT = Path(__file__).resolve().parent.parent
SERVED_NAME = "smol-on-vllm"
"""What the server calls the model: deliberately not the catalog id, nor its source."""
START_TIMEOUT = 900.0
"""Seconds a start may take: ~1 min with eager kernels on a quiet 2-core machine, minutes under load."""
LORA_RANK = 8
"""The largest LoRA rank the server accepts for adapters loaded at run time (the tests train rank 8)."""

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def vllm_python() -> Path:
    """The interpreter of the vLLM environment."""
    # Relative to the checkout (the Makefile passes `.venv-vllm/bin/python`; the server starts in another folder).
    return ROOT / os.environ.get("VLLM_TEST_PYTHON", ".venv-vllm/bin/python")


def vllm_unavailable(reason: str) -> None:
    """Skip on a workstation, fail under CI, where the vLLM tests must run."""
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} — CI must run the vLLM tests (`make test` runs scripts/install.sh vllm first).")
    pytest.skip(reason)


@dataclass(frozen=True)
class Metrics:
    """One reading of a Prometheus text page: sample name and labels → value."""

    samples: tuple[tuple[str, dict[str, str], float], ...]

    @classmethod
    def parse(cls, text: str) -> Metrics:
        samples = []
        for line in text.splitlines():
            match = _SAMPLE.match(line.strip())
            if match is None or line.startswith("#"):
                continue
            labels = dict(_LABEL.findall(match["labels"] or ""))
            samples.append((match["name"], labels, float(match["value"])))
        return cls(tuple(samples))

    def value(self, name: str, **labels: str) -> float:
        """The sum of ``name`` over every series whose labels include ``labels`` (0 when none)."""
        found = [v for n, ls, v in self.samples if n == name and all(ls.get(k) == x for k, x in labels.items())]
        return math.fsum(found)

    def finished(self) -> float:
        """Requests vLLM counts as finished (stop, length, error...); a client's abort is not counted in 0.32."""
        return self.value("vllm:request_success_total")


@dataclass
class VLLMServer:
    """A running ``vllm.entrypoints.openai.api_server``: where it listens, what it serves, its log."""

    base_url: str
    model_dir: Path
    served_model: str
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")

    def metrics(self) -> Metrics:
        response = httpx.get(f"{self.root}/metrics", timeout=10)
        response.raise_for_status()
        return Metrics.parse(response.text)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def vllm_command(model_dir: Path, served_model: str, port: int) -> list[str]:
    """The server's command line: the README's CPU recipe plus runtime LoRA loading.

    ``--enforce-eager`` skips torch.compile (minutes of compiling at every cold start for a model this
    small); ``--enable-log-requests`` makes the log name each aborted request.
    """
    return [
        str(vllm_python()),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--served-model-name",
        served_model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        "8192",
        "--dtype",
        "bfloat16",
        "--enforce-eager",
        "--enable-lora",
        "--max-lora-rank",
        str(LORA_RANK),
        "--enable-log-requests",
    ]


def start_server(model_dir: Path, served_model: str, log: Path) -> VLLMServer:
    """Start vLLM and wait until it answers ``/v1/models``; ``RuntimeError`` with its log when it cannot."""
    port = free_port()
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "2",  # GiB of KV cache: 8k-token contexts for a dozen requests of this model
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",  # /v1/load_lora_adapter, for the trained-model test
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("OMP_NUM_THREADS", None)  # vLLM binds its own OpenMP threads to the cores it reserves
    with log.open("wb") as sink:
        process = subprocess.Popen(
            vllm_command(model_dir, served_model, port), stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=log.parent
        )
    server = VLLMServer(f"http://127.0.0.1:{port}/v1", model_dir, served_model, log, process)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vLLM exited with code {process.returncode} while starting:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}/models", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1)
    stop_server(server)
    raise RuntimeError(f"vLLM did not answer within {START_TIMEOUT:.0f} s:\n{server.log_tail()}")


def stop_server(server: VLLMServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def vllm_server(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    """vLLM serving the embedded SmolLM2-135M as ``SERVED_NAME`` for the whole session."""
    python = vllm_python()
    if not python.exists():
        vllm_unavailable(f"no vLLM environment at {python} (scripts/install.sh vllm makes it)")
    model_dir = cache_embedded_model(models_dir / "smollm2-135m")  # where the local backend caches it too
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    try:
        server = start_server(model_dir, SERVED_NAME, log)
    except RuntimeError as exc:
        vllm_unavailable(str(exc))
    print(f"vLLM serving {model_dir} as {SERVED_NAME} at {server.base_url} (log {log})", file=sys.stderr)
    yield server
    stop_server(server)
