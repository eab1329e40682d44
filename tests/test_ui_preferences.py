"""The Write tab records the user's judgements as preference data.

Through the real app (``build_app``) and its Write tab handlers, with the real embedded 135M model
writing a tiny two-section document: a substantial edit stores an "edit" pair, a regenerate followed
by "Keep previous" restores the old text and stores a "regenerate" pair on the section's write
prompt, and thumbs on a section and on the document store two feedback rows. Mistakes are inline
messages, never exceptions.
"""

from __future__ import annotations

from typing import Any

import pytest

from longwriter import preferences
from longwriter.plan import validate_rows
from longwriter.studio import Studio
from ui.app import build_app
from ui.write import WriteTab

pytestmark = [pytest.mark.model, pytest.mark.timeout(900)]


def write_tab(studio: Studio) -> WriteTab:
    """The Write tab of a freshly built app (found through its wired handlers)."""
    demo = build_app(studio)
    for block_fn in demo.fns.values():
        owner = getattr(block_fn.fn, "__self__", None)
        if isinstance(owner, WriteTab):
            return owner
        closure = getattr(block_fn.fn, "__closure__", None) or ()
        for cell in closure:
            if isinstance(cell.cell_contents, WriteTab):
                return cell.cell_contents
    raise AssertionError("the app has no Write tab")


def text_of(update: Any) -> str:
    return update.get("value", "") if isinstance(update, dict) else str(update)


async def test_write_tab_records_edits_regenerate_choices_and_thumbs(studio: Studio) -> None:
    tab = write_tab(studio)
    store = studio.store
    plan = validate_rows(
        [
            ("Why green tea is brewed cooler than black tea", 100),
            ("How long to steep green tea and how often to reuse the leaves", 100),
        ]
    )
    doc = studio.create("Write a short guide to brewing green tea at home.", 200, plan=plan)
    async for _ in studio.write(doc.id):
        pass
    sections = store.sections(doc.id)
    assert [s.status for s in sections] == ["done", "done"]

    # 1. A substantial edit is kept as (user's text, model's text).
    edited = "Green tea leaves are delicate, so water just off the boil scorches them and makes the cup bitter."
    out = tab.revise.on_save_edit(doc.id, 0, edited, None, None)
    assert "saved" in text_of(out[tab.message]) and "Kept as a preference" in text_of(out[tab.message])
    edits = preferences.pairs(store, preferences.Filters(sources=("edit",)))
    assert len(edits) == 1 and edits[0].chosen == edited and edits[0].section_index == 0
    # Saving the same edit again records nothing new.
    tab.revise.on_save_edit(doc.id, 0, edited, None, None)
    assert len(preferences.pairs(store, preferences.Filters(sources=("edit",)))) == 1
    # A typo-level change of the model's text is saved but is no preference (below the threshold).
    model_text = next(g.output for g in store.generations(doc.id) if g.section_index == 0 and g.kind == "section")
    words = model_text.split()
    typo = " ".join([words[0] + words[0][-1], *words[1:]])  # one letter doubled in one word
    assert preferences.changed_share(model_text, typo) > 0
    out = tab.revise.on_save_edit(doc.id, 0, typo, None, None)
    assert "saved" in text_of(out[tab.message]) and "Kept as a preference" not in text_of(out[tab.message])
    assert store.sections(doc.id)[0].text == typo
    assert len(preferences.pairs(store, preferences.Filters(sources=("edit",)))) == 1

    # 2. Regenerate section 2, then keep the previous version.
    previous = store.sections(doc.id)[1].text
    prepared = tab.revise.prepare_regenerate(doc.id, 1, None)
    pending = prepared[tab.pending]
    assert pending["action"] == "regenerate" and pending["previous"] == previous
    assert prepared[tab.revise.keep_row]["visible"] is False  # a new run hides any earlier choice
    last: dict[Any, Any] = {}
    async for update in tab.runs.stream(pending, None):
        last = update
    regenerated = store.sections(doc.id)[1].text
    assert regenerated.strip() and regenerated.strip() != previous.strip(), "the regenerate should change the text"
    keep = last[tab.revise.keep_state]
    assert keep == {"doc": doc.id, "index": 1, "previous": previous}
    assert last[tab.revise.keep_row]["visible"] is True

    edits_before = len(preferences.pairs(store, preferences.Filters(sources=("edit",))))
    out = tab.revise.keep("previous")(doc.id, keep, None)
    assert out[tab.revise.keep_row]["visible"] is False and out[tab.revise.keep_state] is None
    assert "previous" in text_of(out[tab.message])
    assert store.sections(doc.id)[1].text.strip() == previous.strip()
    choices = preferences.pairs(store, preferences.Filters(sources=("regenerate",)))
    assert len(choices) == 1
    pair = choices[0]
    writes = [
        g
        for g in store.generations(doc.id)
        if g.section_index == 1 and g.kind in ("section", "regenerate") and g.status == "done"
    ]
    assert pair.prompt == writes[-1].prompt and pair.prompt
    assert pair.chosen == previous.strip() and pair.rejected == regenerated.strip() and pair.section_index == 1
    assert len(preferences.pairs(store, preferences.Filters(sources=("edit",)))) == edits_before, (
        "restoring the previous version is not an edit"
    )

    # A second click (the buttons are hidden, but a stale page) is a message, not an exception.
    out = tab.revise.keep("new")(doc.id, None, None)
    assert "no regenerated section" in text_of(out[tab.message])

    # 3. Thumbs on a section and on the whole document.
    message, reason = tab.revise.thumb(True, on_section=True)(doc.id, 0, "  clear and correct ", None)
    assert "recorded" in text_of(message) and reason == ""
    message, reason = tab.revise.thumb(False, on_section=False)(doc.id, 0, "", None)
    assert "recorded" in text_of(message)
    rows = preferences.feedback(store)
    assert [(r.section_index, r.label, r.reason) for r in rows] == [(0, True, "clear and correct"), (None, False, None)]

    # Errors stay inline.
    message, _ = tab.revise.thumb(True, on_section=False)("no-such-doc", None, "", None)
    assert "no document no-such-doc" in text_of(message)
    message, _ = tab.revise.thumb(True, on_section=True)(doc.id, None, "", None)
    assert "Choose a section" in text_of(message)
    assert len(preferences.feedback(store)) == 2
