"""The Arena tab: blind A/B battles between configurations, the Chatbot Arena way.

One instruction is written by two configurations (model, mode, sampling preset) drawn at random
from the ones the user enables, on random sides, streaming side by side under the names "Model A"
and "Model B". The vote buttons only come on when both sides finished; the names are revealed
after the vote. Both sides are ordinary documents (in the Library); the vote becomes a preference
pair and a rated battle (:mod:`longwriter.preferences`, :mod:`longwriter.ratings`). This module
only turns events into page updates.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
from gradio.context import Context

from longwriter.document_state import DocumentState, is_milestone
from longwriter.events import Event
from longwriter.preferences import (
    SIDE_NAMES,
    ArenaConfig,
    PreferenceError,
    arena_configs,
    get_battle,
    run_battle,
    start_battle,
    stop_battle,
    vote,
)
from longwriter.sampling import MODEL_DEFAULT, describe_presets
from longwriter.store import NotFound
from longwriter.studio import Studio, StudioError
from ui.common import UPDATE_INTERVAL, current_user, throttled
from ui.view import message_html

log = logging.getLogger(__name__)

ARENA = "arena"
"""Concurrency group of arena battles (each one runs two documents)."""
VOTE_BUTTONS = (("a", "← A is better"), ("b", "B is better →"), ("tie", "Tie"), ("both_bad", "Both are bad"))


def default_configs(studio: Studio) -> list[str]:
    """Enabled at first: the default model written with AgentWrite and in a single pass."""
    model = studio.spec().id
    return [ArenaConfig(model, "agentwrite").label, ArenaConfig(model, "single").label]


def offered(studio: Studio) -> tuple[list[str], str]:
    """The configurations a battle may draw (only models that can run now), and a note naming the others
    and why: a battle with a model that cannot start here is only a failed battle."""
    models = studio.models()
    found = {spec.id: studio.availability(spec.id) for spec in models}
    runnable = [spec for spec in models if found[spec.id].runnable]
    blocked = [a for a in found.values() if not a.runnable]
    note = "\n".join(f"* Not offered: {a.reason}" for a in blocked)
    return [c.label for c in arena_configs(runnable)], note


def _urgent(item: tuple[str, Event]) -> bool:
    return is_milestone(item[1])


class Side(DocumentState):
    """One side as it streams (its document state), shown as Markdown with a note when it failed or stopped."""

    @property
    def note(self) -> str:
        if self.status == "failed":
            return f"⚠ This side failed: {self.error}"
        return "⏹ Stopped." if self.status == "stopped" else ""

    def markdown(self) -> str:
        body = self.text or ("*Starting…*" if not self.started_count else "*Writing…*")
        return f"{body}\n\n*{self.note}*" if self.note else body

    def meter(self) -> str:
        sections = f" · section {self.started_count} of {len(self.plan)}" if self.plan else ""
        return f'<div class="lw-arena-meter">{self.words:,} words{sections}</div>'


class ArenaTab:
    """Components and handlers of the Arena tab (built inside an open ``gr.Tab``)."""

    def __init__(self, studio: Studio, interval: float = UPDATE_INTERVAL) -> None:
        self.studio = studio
        self.interval = interval

    def build(self) -> None:
        studio = self.studio
        tab = Context.block  # the enclosing gr.Tab: what can run is asked again whenever it is opened
        choices, unavailable = offered(studio)
        defaults = [label for label in default_configs(studio) if label in choices]
        gr.Markdown(
            "Two configurations write the same instruction side by side under neutral names. Read both, then "
            "vote: the names are revealed after your vote, and every vote becomes a preference pair and counts "
            "toward the leaderboard on the Data tab.",
            elem_classes="lw-arena-intro",
        )
        self.battle = gr.State(None)
        with gr.Row(equal_height=False):
            self.instruction = gr.Textbox(
                label="Instruction",
                lines=3,
                max_lines=10,
                scale=4,
                elem_id="lw-arena-instruction",
                placeholder="e.g. Write a short story about a lighthouse keeper who finds a message in a bottle.",
            )
            self.target = gr.Number(
                label="Target words",
                value=300,
                minimum=100,
                maximum=20_000,
                step=50,
                precision=0,
                scale=1,
                min_width=120,
                elem_id="lw-arena-target",
            )
        with gr.Accordion(
            "Contestants: the configurations a battle draws from", open=False, elem_id="lw-arena-configs-acc"
        ):
            self.configs = gr.CheckboxGroup(
                choices=choices,
                value=defaults,
                show_label=False,
                elem_id="lw-arena-configs",
                info=f"model · mode · sampling preset ({describe_presets()}; {MODEL_DEFAULT}: the model's own)",
            )
            self.unavailable = gr.Markdown(unavailable, visible=bool(unavailable), elem_id="lw-arena-unavailable")
        with gr.Row():
            self.start_btn = gr.Button("⚔ New battle", variant="primary", elem_id="lw-arena-start")
            self.stop_btn = gr.Button("Stop", variant="stop", visible=False, elem_id="lw-arena-stop")
        self.message = gr.HTML(elem_id="lw-arena-message")
        with gr.Row(equal_height=True, elem_classes="lw-arena-sides"):
            self.names: dict[str, Any] = {}
            self.texts: dict[str, Any] = {}
            self.meters: dict[str, Any] = {}
            for side in ("a", "b"):
                with gr.Column(elem_classes="lw-arena-side", min_width=320):
                    self.names[side] = gr.Markdown(f"### {SIDE_NAMES[side]}", elem_id=f"lw-arena-name-{side}")
                    self.meters[side] = gr.HTML(elem_id=f"lw-arena-meter-{side}")
                    self.texts[side] = gr.Markdown(
                        elem_id=f"lw-arena-text-{side}", height=520, elem_classes="lw-arena-text"
                    )
        with gr.Row(elem_classes="lw-arena-votes"):
            self.vote_btns = {
                choice: gr.Button(label, interactive=False, elem_id=f"lw-arena-vote-{choice}")
                for choice, label in VOTE_BUTTONS
            }
        self._wire()
        if isinstance(tab, gr.Tab):
            tab.select(
                self.on_open,
                [self.configs],
                [self.configs, self.unavailable],
                api_visibility="private",
                concurrency_limit=None,
            )

    # -- wiring ---------------------------------------------------------------------------------

    def _wire(self) -> None:
        light: dict[str, Any] = {"api_visibility": "private", "concurrency_limit": None}
        self.panels = [
            self.message,
            *self.names.values(),
            *self.meters.values(),
            *self.texts.values(),
            *self.vote_btns.values(),
            self.start_btn,
            self.stop_btn,
        ]
        prepared = self.start_btn.click(
            self.prepare, [self.instruction, self.target, self.configs], [self.battle, *self.panels], **light
        )
        prepared.then(self.gate, [self.battle], None, **light).success(
            self.stream,
            [self.battle],
            self.panels,
            api_visibility="private",
            concurrency_id=ARENA,
            concurrency_limit=1,
            show_progress="minimal",
            show_progress_on=[self.message],
        )
        self.stop_btn.click(self.on_stop, [self.battle], [self.message, self.stop_btn], **light)
        for choice, button in self.vote_btns.items():
            button.click(self._voter(choice), [self.battle], self.panels, **light)

    def on_open(self, enabled: list[str] | None) -> tuple[Any, Any]:
        """Offer again what can run now (a model server may have started or gone), keeping the user's picks."""
        choices, unavailable = offered(self.studio)
        return (
            gr.update(choices=choices, value=[label for label in enabled or [] if label in choices]),
            gr.update(value=unavailable, visible=bool(unavailable)),
        )

    @staticmethod
    def gate(battle_id: str | None) -> None:
        if not battle_id:
            raise gr.Error("no battle", visible=False, print_exception=False)

    # -- views ----------------------------------------------------------------------------------

    def _votes(self, on: bool) -> dict[Any, Any]:
        return {button: gr.update(interactive=on) for button in self.vote_btns.values()}

    def _hidden_names(self) -> dict[Any, Any]:
        return {self.names[side]: f"### {SIDE_NAMES[side]}" for side in ("a", "b")}

    # -- handlers -------------------------------------------------------------------------------

    def prepare(
        self, instruction: str, target: float | None, enabled: list[str], request: gr.Request
    ) -> dict[Any, Any]:
        """Draw the contestants and store the battle (instant); the stream step writes it."""
        user = current_user(request)
        try:
            configs = [ArenaConfig.parse(label) for label in enabled or []]
            made = start_battle(self.studio, instruction or "", int(target or 0), configs, user=user)
        except (PreferenceError, StudioError) as exc:
            return {self.battle: None, self.message: message_html(str(exc), "warn")}
        out: dict[Any, Any] = {
            self.battle: made.id,
            self.message: message_html("Both sides are writing… Voting opens when both have finished.", "info"),
            self.start_btn: gr.update(interactive=False),
            self.stop_btn: gr.update(visible=True, interactive=True),
            **self._hidden_names(),
            **self._votes(False),
        }
        for side in ("a", "b"):
            out[self.texts[side]] = ""
            out[self.meters[side]] = ""
        return out

    async def stream(self, battle_id: str | None, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        if not battle_id:
            yield {}
            return
        sides = {"a": Side(), "b": Side()}
        try:
            async for batch in throttled(run_battle(self.studio, battle_id), self.interval, urgent=_urgent):
                touched = set()
                for side, event in batch:
                    sides[side].apply(event)
                    touched.add(side)
                update: dict[Any, Any] = {}
                for side in touched:
                    update[self.texts[side]] = sides[side].markdown()
                    update[self.meters[side]] = sides[side].meter()
                yield update
        except Exception:
            log.exception("arena battle %s failed", battle_id)
        battle = get_battle(self.studio.store, battle_id)
        final: dict[Any, Any] = {self.start_btn: gr.update(interactive=True), self.stop_btn: gr.update(visible=False)}
        for side in ("a", "b"):
            final[self.texts[side]] = sides[side].markdown()
            final[self.meters[side]] = sides[side].meter()
        if battle.status == "done":
            final[self.message] = message_html("Both finished. Which one is better?", "ok")
            final.update(self._votes(True))
        else:
            reason = "one side failed" if battle.status == "failed" else "it was stopped"
            final[self.message] = message_html(
                f"This battle did not finish ({reason}), so it cannot be voted on and does not count. "
                "Start a new battle.",
                "warn",
            )
            final.update(self._votes(False))
        yield final

    def on_stop(self, battle_id: str | None) -> tuple[Any, Any]:
        if not battle_id:
            return gr.skip(), gr.update(visible=False)
        try:
            stop_battle(self.studio, battle_id)
        except NotFound:
            return gr.skip(), gr.update(visible=False)
        return message_html("Stopping…", "info"), gr.update(interactive=False)

    def _voter(self, choice: str):
        def handler(battle_id: str | None, request: gr.Request) -> dict[Any, Any]:
            return self.on_vote(battle_id, choice, request)

        return handler

    def on_vote(self, battle_id: str | None, choice: str, request: gr.Request) -> dict[Any, Any]:
        """Record the vote, then reveal both names; the buttons go off so a battle takes one vote."""
        if not battle_id:
            return {self.message: message_html("Start a battle first.", "warn")}
        try:
            vote(self.studio.store, battle_id, choice, user=current_user(request))
            battle = get_battle(self.studio.store, battle_id)
        except (PreferenceError, NotFound) as exc:
            return {self.message: message_html(str(exc), "warn"), **self._votes(False)}
        labels = {"a": battle.config_a.get("label", "?"), "b": battle.config_b.get("label", "?")}
        verdict = {
            "a": "You preferred Model A.",
            "b": "You preferred Model B.",
            "tie": "You called it a tie.",
            "both_bad": "You found both bad.",
        }[choice]
        return {
            self.message: message_html(
                f"Vote recorded. {verdict} Model A was {labels['a']}; Model B was "
                f"{labels['b']}. Start a new battle for another round.",
                "ok",
            ),
            **{self.names[side]: f"### {SIDE_NAMES[side]}: {labels[side]}" for side in ("a", "b")},
            **self._votes(False),
        }


def build_arena_tab(studio: Studio) -> None:
    """Build the Arena tab's content (call inside ``with gr.Tab("Arena"):``)."""
    ArenaTab(studio).build()
