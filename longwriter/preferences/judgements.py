"""Judgements on a document's sections: a kept regeneration, an edit, a thumb.

* **Section regenerate**: the kept and the discarded version of a section, whose prompt is the
  section's exact write prompt as recorded in its generation row — what the model sees in AgentWrite.
* **Edits**: the user's text preferred over the model's, recorded when the share of changed words
  reaches ``Settings.edit_pair_threshold`` (a typo fix is not a preference).
* **Thumbs** on a section or a whole document: unpaired KTO labels with an optional reason.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from sqlmodel import col, select

from longwriter.preferences.rows import PreferenceError, add_row
from longwriter.prompts import single_prompt
from longwriter.store import Document, Feedback, Generation, NotFound, PreferencePair, Store
from longwriter.text import count_words

if TYPE_CHECKING:
    from longwriter.settings import Settings
    from longwriter.studio import Studio

_WRITE_KINDS = ("section", "regenerate", "single")  # generations that wrote a section from its prompt
_MODEL_KINDS = (*_WRITE_KINDS, "continue")  # every generation whose output is the section's model text


def _generations(store: Store, doc_id: str, index: int, kinds: Sequence[str]) -> list[Generation]:
    query = (
        select(Generation)
        .where(Generation.document_id == doc_id, Generation.section_index == index, col(Generation.kind).in_(kinds))
        .where(Generation.status == "done")
        .order_by(col(Generation.id))
    )
    with store.session() as session:
        return list(session.exec(query).all())


def _generation_config(generation: Generation | None, doc: Document) -> dict[str, Any]:
    if generation is None:
        return {"model": doc.model, "backend": doc.backend, "mode": doc.mode, "sampling": doc.params}
    return {
        "model": generation.model,
        "backend": generation.backend,
        "mode": doc.mode,
        "sampling": generation.params,
        "kind": generation.kind,
        "generation_id": generation.id,
    }


def _document(store: Store, doc_id: str) -> Document:
    doc = store.get_document(doc_id)
    if doc is None:
        raise NotFound(f"There is no document {doc_id}.")
    return doc


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def record_section_choice(
    store: Store, doc_id: str, index: int, kept_text: str, discarded_text: str, user: str | None = None
) -> PreferencePair | None:
    """After a regenerate, record (kept, discarded) for section ``index``; None when the two are the same.

    The prompt is the section's exact write prompt from its latest write or regenerate generation, the
    prompt both versions answer. Each side's configuration is that of the generation that wrote it.
    """
    if _same(kept_text, discarded_text) or not kept_text.strip() or not discarded_text.strip():
        return None
    doc = _document(store, doc_id)
    generations = _generations(store, doc_id, index, _WRITE_KINDS)
    if not generations or not generations[-1].prompt:
        raise PreferenceError(f"Section {index + 1} has no recorded write prompt, so this choice cannot be kept.")
    prompt_from = generations[-1]

    (_, kept_by), (_, discarded_by) = _closest(generations, kept_text), _closest(generations, discarded_text)
    pair = PreferencePair(
        user=user,
        source="regenerate",
        prompt=prompt_from.prompt,
        chosen=kept_text.strip(),
        rejected=discarded_text.strip(),
        chosen_config=_generation_config(kept_by, doc),
        rejected_config=_generation_config(discarded_by, doc),
        chosen_document_id=doc_id,
        rejected_document_id=doc_id,
        section_index=index,
        generation_id=prompt_from.id,
        chosen_words=count_words(kept_text),
        rejected_words=count_words(discarded_text),
    )
    return add_row(store, pair)


def keep_section_version(
    studio: Studio,
    doc_id: str,
    index: int,
    keep: Literal["new", "previous"],
    previous_text: str,
    user: str | None = None,
) -> PreferencePair | None:
    """The Write tab's "keep" buttons after a regenerate, in one call.

    ``previous_text`` is the section's text from before the regenerate (the UI keeps it); the new
    version is the section's text now. Keeping the previous one puts it back (as a plain text change:
    no edit pair is recorded for it, so the studio has checked the action before calling this), then
    the choice is recorded by :func:`record_section_choice`.
    """
    current = next((s.text for s in studio.store.sections(doc_id) if s.index == index), None)
    if current is None:
        raise NotFound(f"Document {doc_id} has no section {index + 1}.")
    if keep == "previous":
        if not _same(current, previous_text):
            studio.store.update_section_text(doc_id, index, previous_text)
        return record_section_choice(studio.store, doc_id, index, previous_text, current, user=user)
    if keep == "new":
        return record_section_choice(studio.store, doc_id, index, current, previous_text, user=user)
    raise PreferenceError(f"keep must be 'new' or 'previous', not {keep!r}.")


def _closest(generations: Sequence[Generation], text: str) -> tuple[float, Generation]:
    """The generation whose output ``text`` is closest to (newest on a tie), and the share of words changed.

    A section's text is what its generation wrote, less what the writer cut (markers, a loop), plus
    any edit; so "which generation wrote this" is the closest output, not an equal one.
    """
    share, _, generation = min(
        ((changed_share(g.output, text), -(g.id or 0), g) for g in generations), key=lambda t: t[:2]
    )
    return share, generation


def changed_share(before: str, after: str) -> float:
    """Share of words changed between two texts, 0 (same words) to 1 (nothing in common).

    ``1 − ratio`` of :class:`difflib.SequenceMatcher` on the whitespace-separated words (punctuation
    and case count), i.e. the share of the two texts' words outside their longest common matches.
    """
    a, b = before.split(), after.split()
    if not a and not b:
        return 0.0
    return 1.0 - difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def record_edit(
    store: Store, settings: Settings | float, doc_id: str, index: int, new_text: str, user: str | None = None
) -> PreferencePair | None:
    """If the user's text for section ``index`` differs enough from the model's, store (edited, model).

    "The model's text" is the output of the section's generation (write, regenerate or continue)
    closest to the edit — the version the user started from; the edit counts when the share of
    changed words is at least ``settings.edit_pair_threshold`` (a number may be given instead).
    Returns None when there is no
    model text, the edit is below the threshold, or the same edit was already recorded.
    """
    threshold = settings if isinstance(settings, (int, float)) else settings.edit_pair_threshold
    if not new_text.strip():
        return None
    generations = [g for g in _generations(store, doc_id, index, _MODEL_KINDS) if g.output.strip()]
    if not generations:
        return None
    # The model text this edit started from: the closest of the section's model outputs, so that fixing
    # a typo in a kept older version is not mistaken for rewriting a newer one.
    share, model = _closest(generations, new_text)
    if share == 0 or share < threshold:
        return None
    latest = _latest_edit(store, model.id)
    if latest is not None and _same(latest.chosen, new_text):
        return None
    doc = _document(store, doc_id)
    prompt = model.prompt or next((g.prompt for g in reversed(generations) if g.prompt), "")
    if not prompt:
        return None
    pair = PreferencePair(
        user=user,
        source="edit",
        prompt=prompt,
        chosen=new_text.strip(),
        rejected=model.output.strip(),
        chosen_config={"edited_by": user, "model": None},
        rejected_config=_generation_config(model, doc),
        chosen_document_id=doc_id,
        rejected_document_id=doc_id,
        section_index=index,
        generation_id=model.id,
        chosen_words=count_words(new_text),
        rejected_words=count_words(model.output),
        changed=round(share, 4),
    )
    return add_row(store, pair)


def _latest_edit(store: Store, generation_id: int | None) -> PreferencePair | None:
    query = (
        select(PreferencePair)
        .where(PreferencePair.source == "edit", PreferencePair.generation_id == generation_id)
        .order_by(col(PreferencePair.id).desc())
        .limit(1)
    )
    with store.session() as session:
        return session.exec(query).first()


def record_thumb(
    store: Store,
    doc_id: str,
    label: bool,
    index: int | None = None,
    reason: str | None = None,
    user: str | None = None,
) -> Feedback:
    """Thumbs up (``label`` True) or down on section ``index``, or on the whole document when ``index`` is None.

    A section's prompt is its latest recorded write prompt and its completion the section's text as
    the user sees it; a document's prompt is its instruction with the length made explicit.
    """
    doc = _document(store, doc_id)
    generation: Generation | None = None
    if index is None:
        prompt = single_prompt(doc.instruction, doc.target_words)
        completion = store.document_text(doc_id)
    else:
        section = next((s for s in store.sections(doc_id) if s.index == index), None)
        if section is None:
            raise NotFound(f"Document {doc_id} has no section {index + 1}.")
        completion = section.text.strip()
        generations = _generations(store, doc_id, index, _MODEL_KINDS)
        generation = next((g for g in reversed(generations) if g.prompt), None)
        prompt = generation.prompt if generation else single_prompt(doc.instruction, doc.target_words)
    if not completion:
        raise PreferenceError("There is no text to rate yet.")
    return add_row(
        store,
        Feedback(
            user=user,
            document_id=doc_id,
            section_index=index,
            label=bool(label),
            reason=(reason or "").strip() or None,
            prompt=prompt,
            completion=completion,
            config=_generation_config(generation, doc),
            generation_id=generation.id if generation else None,
            words=count_words(completion),
        ),
    )
