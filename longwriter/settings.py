"""Settings from ``LONGWRITER_*`` environment variables and a ``.env`` file.

One object describes a deployment: which backend and model, where data lives, how to sample
and how the server binds. Every entry point (CLI, app, training hooks) builds it the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BackendName = str
"""A backend registered in the ``longwriter.backends`` entry points: local, openai, vllm or a plugin's."""


class Settings(BaseSettings):
    """Everything configurable, with defaults that run offline on a laptop."""

    model_config = SettingsConfigDict(env_prefix="LONGWRITER_", env_file=".env", extra="ignore")

    backend: BackendName = "local"
    model: str = Field("smollm2-135m", description="catalog id, local model folder or Hub id")
    base_url: str = Field("http://127.0.0.1:8000/v1", description="OpenAI-compatible server for the openai backend")
    api_key: str = Field("EMPTY", description="sent as a Bearer token to the openai backend")
    served_model: str | None = Field(
        None, description="the server's name for the model (vllm serve --served-model-name)"
    )
    request_timeout: float = Field(600.0, gt=0, description="seconds without data before a stream is declared dead")

    data_dir: Path = Field(Path.home() / ".longwriter", description="database, model cache and exports")
    models_path: Path | None = Field(None, description="model cache and registry; data_dir/models when unset")
    database_url: str | None = Field(None, description="SQLAlchemy URL; SQLite in data_dir when unset")

    device: str = Field("auto", description="local backend: auto, cpu, cuda, cuda:1 ...")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    torch_threads: int | None = Field(
        None, ge=1, description="local backend CPU threads; torch's default (all cores) when unset"
    )

    temperature: float | None = Field(None, ge=0, le=2, description="overrides the model's default")
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=0)
    seed: int | None = None

    # vLLM (in-process backend); the same names as `vllm serve` flags.
    tensor_parallel_size: int = Field(1, ge=1)
    pipeline_parallel_size: int = Field(1, ge=1)
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = Field(None, gt=0, description="defaults to the catalog's context window")
    quantization: str | None = None
    lora_path: Path | None = Field(None, description="a LoRA adapter from the training package")
    enforce_eager: bool = Field(
        False, description="vLLM without compiled graphs: starts in a minute instead of several, decodes slower"
    )

    host: str = "127.0.0.1"
    port: int | None = Field(None, description="defaults to GRADIO_SERVER_PORT, then 7860")
    auth: str | None = Field(None, description="'user:pass,user2:pass2' to require a login")
    auth_file: Path | None = Field(None, description="a file of user:pass lines")
    share: bool = False

    edit_pair_threshold: float = Field(
        0.1, ge=0, le=1, description="share of changed words that makes an edit a preference pair"
    )

    @field_validator("backend")
    @classmethod
    def _installed_backend(cls, value: str) -> str:
        from longwriter.backends.registry import backend_names  # late: the registry imports Settings

        names = backend_names()
        if value not in names:
            raise ValueError(f"unknown backend {value!r}; the installed backends are {', '.join(names)}")
        return value

    @field_validator("data_dir", "models_path", "lora_path", "auth_file", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @property
    def db_url(self) -> str:
        """The database URL in force: the configured one, else SQLite in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'longwriter.db'}"

    @property
    def models_dir(self) -> Path:
        """Where converted model weights are cached and trained checkpoints are registered."""
        return self.models_path or self.data_dir / "models"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) taking precedence."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
