"""The user's saved sampling presets, next to the built-in ones (:mod:`longwriter.sampling`).

Saved presets live in the browser (``gr.BrowserState``) as ``{"presets": {name: params},
"defaults": {model_id: preset_name}}``: they follow the writer's browser without a server-side
table, and a per-model default picks the preset whenever that model is chosen.
"""

from __future__ import annotations

from typing import Any

from longwriter.catalog import ModelSpec
from longwriter.sampling import MODEL_DEFAULT, PRESET_KEYS, PRESET_NAMES, PRESETS, model_values


def empty_store() -> dict[str, Any]:
    return {"presets": {}, "defaults": {}}


def normalize_store(store: Any) -> dict[str, Any]:
    """The browser's saved presets, tolerating a missing or damaged value."""
    if not isinstance(store, dict):
        return empty_store()
    presets = store.get("presets") if isinstance(store.get("presets"), dict) else {}
    defaults = store.get("defaults") if isinstance(store.get("defaults"), dict) else {}
    clean = {str(k): v for k, v in presets.items() if isinstance(v, dict)}
    return {"presets": clean, "defaults": {str(k): str(v) for k, v in defaults.items()}}


def preset_names(store: Any) -> list[str]:
    saved = sorted(normalize_store(store)["presets"])
    return [*PRESET_NAMES, *(n for n in saved if n not in PRESET_NAMES)]


def values_for(name: str, spec: ModelSpec, store: Any) -> dict[str, float | int]:
    """The sampling values of preset ``name`` (unknown names fall back to the model's defaults)."""
    base = model_values(spec)
    if name in PRESETS:
        return {**base, **PRESETS[name]}
    saved = normalize_store(store)["presets"].get(name)
    if saved:
        return {**base, **{k: saved[k] for k in PRESET_KEYS if k in saved}}
    return base


def default_preset(model_id: str, store: Any) -> str:
    """The preset the user chose as default for ``model_id``, else the model's own defaults."""
    store = normalize_store(store)
    name = store["defaults"].get(model_id)
    return name if name and name in preset_names(store) else MODEL_DEFAULT


def save_preset(store: Any, name: str, values: dict[str, Any], model_id: str | None = None) -> dict[str, Any]:
    """A copy of ``store`` with preset ``name`` saved (and made ``model_id``'s default if given)."""
    name = " ".join((name or "").split())
    if not name:
        raise ValueError("Give the preset a name first.")
    if name in PRESET_NAMES:
        raise ValueError(f"“{name}” is a built-in preset; choose another name.")
    if len(name) > 40:
        raise ValueError("Preset names are at most 40 characters.")
    store = normalize_store(store)
    store["presets"][name] = {k: values[k] for k in PRESET_KEYS if values.get(k) is not None}
    if model_id:
        store["defaults"][model_id] = name
    return store


def delete_preset(store: Any, name: str) -> dict[str, Any]:
    store = normalize_store(store)
    if name not in store["presets"]:
        raise ValueError("Only saved presets can be deleted.")
    del store["presets"][name]
    store["defaults"] = {m: p for m, p in store["defaults"].items() if p != name}
    return store
