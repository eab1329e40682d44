"""A stored document as data and as files: the JSON record and Markdown.

One function builds the record from the store's rows, and every output (CLI JSON, exports, the
UI's downloads) derives from it, so a document reads the same wherever it is taken out.
"""

from __future__ import annotations

from typing import Any

from longwriter.store import NotFound, Store
from longwriter.text import count_words, length_score


def document_record(store: Store, doc_id: str, user: str | None = None) -> dict[str, Any]:
    """Everything about one document: request, plan, each section, the whole text, score and timings."""
    doc = store.get_document(doc_id, user=user)
    if doc is None:
        raise NotFound(f"There is no document {doc_id}.")
    sections = store.sections(doc_id)
    generations = store.generations(doc_id)
    text = "\n\n".join(s.text.strip() for s in sections if s.text.strip())
    words = count_words(text)
    seconds = {g.section_index: 0.0 for g in generations}
    for g in generations:
        seconds[g.section_index] += g.seconds
    return {
        "id": doc.id,
        "created_at": doc.created_at.isoformat(),
        "status": doc.status,
        "error": doc.error,
        "instruction": doc.instruction,
        "target_words": doc.target_words,
        "mode": doc.mode,
        "model": doc.model,
        "backend": doc.backend,
        "sampling": doc.params,
        "plan": {"sections": doc.plan or []},
        "sections": [
            {
                "index": s.index,
                "main_point": s.main_point,
                "target_words": s.target_words,
                "words": s.words,
                "status": s.status,
                "text": s.text,
                **({"reasoning": s.reasoning} if s.reasoning else {}),
                "seconds": round(seconds.get(s.index, 0.0), 2),
            }
            for s in sections
        ],
        "text": text,
        "words": words,
        "length_score": round(length_score(doc.target_words, words), 2),
        "timings": {
            "plan_seconds": round(seconds.get(None, 0.0), 2),
            "write_seconds": round(sum(v for k, v in seconds.items() if k is not None), 2),
        },
        "tokens": sum(g.output_tokens or 0 for g in generations),
    }


def to_markdown(record: dict[str, Any]) -> str:
    """The document as Markdown: the sections' text, as the model (or the user's edits) wrote it."""
    return record["text"].strip() + "\n"
