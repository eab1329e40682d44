"""The Write tab's sampling: the preset menu, the advanced sliders, and saving or deleting presets.

Saved presets live in the writer's browser (:mod:`ui.presets`); choosing a model picks its default
preset. Once a document exists its sampling is the document's, shown read-only.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from longwriter.catalog import ModelSpec
from longwriter.studio import Studio
from ui import presets
from ui.view import message_html

SLIDERS = ("temperature", "top_p", "top_k", "repetition_penalty")
"""The sampling values a preset sets (the seed is the document's own)."""


class PresetsPanel:
    """Preset menu and the "Advanced sampling" accordion (built where they stand in the request form)."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def build(self, spec: ModelSpec) -> None:
        self.preset = gr.Dropdown(
            label="Sampling preset",
            choices=presets.preset_names(None),
            value=presets.MODEL_DEFAULT,
            elem_id="lw-preset",
        )
        with gr.Accordion("Advanced sampling", open=False, elem_id="lw-advanced"):
            self.temperature = gr.Slider(0.0, 2.0, value=spec.temperature, step=0.05, label="Temperature")
            self.top_p = gr.Slider(0.05, 1.0, value=spec.top_p, step=0.01, label="Top-p")
            self.top_k = gr.Slider(0, 200, value=spec.top_k, step=1, label="Top-k (0 = off)")
            self.repetition_penalty = gr.Slider(
                1.0, 2.0, value=spec.repetition_penalty, step=0.01, label="Repetition penalty"
            )
            self.seed = gr.Number(label="Seed (blank = random)", value=None, precision=0)
            with gr.Row():
                self.name = gr.Textbox(
                    label="Save these settings as", placeholder="preset name", scale=3, min_width=140
                )
                self.make_default = gr.Checkbox(label="Default for this model", value=False, scale=2, min_width=120)
            with gr.Row():
                self.save = gr.Button("Save preset", size="sm")
                self.delete = gr.Button("Delete selected preset", size="sm", variant="secondary")
            self.note = gr.HTML()
        self.sliders = [self.temperature, self.top_p, self.top_k, self.repetition_penalty]
        self.sampling = [*self.sliders, self.seed]
        """What a new document's sampling is read from, in :meth:`params` order."""

    def wire(self, model: gr.Dropdown, doc_box: gr.Textbox, store: gr.BrowserState) -> None:
        """The panel follows the chosen ``model`` until a document is open."""
        light: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}
        model.change(self.on_model, [model, store, doc_box], [self.preset, *self.sliders], **light)
        self.preset.input(self.on_preset, [self.preset, model, store], self.sliders, **light)
        self.save.click(
            self.on_save,
            [self.name, self.make_default, model, *self.sliders, store],
            [store, self.preset, self.note],
            **light,
        )
        self.delete.click(
            self.on_delete, [self.preset, model, store], [store, self.preset, self.note, *self.sliders], **light
        )

    @staticmethod
    def params(
        temperature: float | None, top_p: float | None, top_k: float | None, penalty: float | None, seed: Any
    ) -> dict[str, float | int | None]:
        """The sliders' values as a new document's sampling."""
        return {
            "temperature": temperature,
            "top_p": top_p,
            "top_k": None if top_k is None else int(top_k),
            "repetition_penalty": penalty,
            "seed": None if seed in (None, "") else int(seed),
        }

    # -- views ------------------------------------------------------------------------------

    def on_load(self, model: str, store: Any) -> dict[Any, Any]:
        """Page load: the saved presets, and the model's default preset applied."""
        name = presets.default_preset(model, store)
        out: dict[Any, Any] = {
            self.preset: gr.update(choices=presets.preset_names(store), value=name, interactive=True)
        }
        if name != presets.MODEL_DEFAULT:
            values = presets.values_for(name, self.studio.spec(model), store)
            out.update(dict(zip(self.sliders, self._values(values))))
        return out

    def unlocked(self) -> dict[Any, Any]:
        return {comp: gr.update(interactive=True) for comp in (self.preset, *self.sampling)}

    def document(self, params: dict[str, Any]) -> dict[Any, Any]:
        """A stored document's sampling, read-only (a value it does not set keeps the slider's)."""
        out: dict[Any, Any] = {self.preset: gr.update(interactive=False)}
        for comp, key in zip(self.sampling, (*SLIDERS, "seed")):
            value = params.get(key)
            if value is None and comp is not self.seed:
                out[comp] = gr.update(interactive=False)
            else:
                out[comp] = gr.update(value=value, interactive=False)
        return out

    # -- handlers ---------------------------------------------------------------------------

    def on_model(self, model: str, store: Any, doc_id: str) -> list[Any]:
        if doc_id:
            return [gr.skip()] * 5
        name = presets.default_preset(model, store)
        values = presets.values_for(name, self.studio.spec(model), store)
        return [gr.update(value=name), *self._values(values)]

    def on_preset(self, name: str, model: str, store: Any) -> list[Any]:
        return self._values(presets.values_for(name or presets.MODEL_DEFAULT, self.studio.spec(model), store))

    def on_save(
        self,
        name: str,
        make_default: bool,
        model: str,
        temperature: float,
        top_p: float,
        top_k: float,
        repetition_penalty: float,
        store: Any,
    ) -> tuple[Any, Any, Any]:
        values = {
            "temperature": temperature,
            "top_p": top_p,
            "top_k": int(top_k or 0),
            "repetition_penalty": repetition_penalty,
        }
        try:
            store = presets.save_preset(store, name, values, model if make_default else None)
        except ValueError as exc:
            return gr.skip(), gr.skip(), message_html(str(exc), "warn")
        name = " ".join(name.split())
        note = f"Saved “{name}”" + (f" as the default for {model}." if make_default else ".")
        return store, gr.update(choices=presets.preset_names(store), value=name), message_html(note, "ok")

    def on_delete(self, name: str, model: str, store: Any) -> list[Any]:
        try:
            store = presets.delete_preset(store, name)
        except ValueError as exc:
            return [gr.skip(), gr.skip(), message_html(str(exc), "warn"), *[gr.skip()] * 4]
        fallback = presets.default_preset(model, store)
        values = presets.values_for(fallback, self.studio.spec(model), store)
        return [
            store,
            gr.update(choices=presets.preset_names(store), value=fallback),
            message_html(f"Deleted “{name}”.", "ok"),
            *self._values(values),
        ]

    @staticmethod
    def _values(values: dict[str, Any]) -> list[Any]:
        return [values[key] for key in SLIDERS]
