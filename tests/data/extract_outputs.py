"""Copy what the embedded model wrote in an eval run into the cleanup corpus, one JSON line per call.

The corpus (``smollm2_outputs.jsonl``) is real output of SmolLM2-135M under AgentWrite on the
LongBench-Write mini set (``longwriter eval longbench-write --limit 3 --seed 1``): each plan call
and each section call of each document, as its generation row stores it. ``leaks`` is filled in
by hand afterwards (the lines a reader must not see) and ``usable`` for plans (is it a plan?);
``tests/test_cleanup.py`` checks the cleaner and the plan check against those labels::

    .venv/bin/python tests/data/extract_outputs.py DATA_DIR "before: stored text" >> tests/data/smollm2_outputs.jsonl
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path


def main(data_dir: Path, source: str) -> None:
    db = sqlite3.connect(data_dir / "longwriter.db")
    rows = db.execute(
        "select i.item_id, i.prompt, i.required_words, g.kind, g.section_index, g.status, g.output "
        "from generations g join eval_items i on i.document_id = g.document_id order by g.id"
    )
    for item, prompt, words, kind, index, status, output in rows:
        row = {"source": source, "item": item, "instruction": prompt, "words": words, "kind": kind}
        row |= {"index": index, "status": status, "output": output}
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
