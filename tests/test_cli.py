"""The ``longwriter`` command, run as a real subprocess against the real model and database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from longwriter.backends.local import LocalBackend
from longwriter.documents import document_title, to_markdown
from longwriter.text import count_words, length_score


def run_cli(
    args: list[str], data_dir: Path, models_dir: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LONGWRITER_DATA_DIR": str(data_dir),
        "LONGWRITER_MODELS_PATH": str(models_dir),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "longwriter.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_models_lists_the_catalog(tmp_path: Path, models_dir: Path) -> None:
    result = run_cli(["models", "--json"], tmp_path, models_dir)
    assert result.returncode == 0, result.stderr
    ids = [m["id"] for m in json.loads(result.stdout)]
    assert ids[:4] == ["smollm2-135m", "longwriter-glm4-9b", "longwriter-llama3.1-8b", "longwriter-zero-32b"]


@pytest.mark.model
def test_write_list_show_with_a_given_plan(tmp_path: Path, models_dir: Path, local_backend: LocalBackend) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "sections": [
                    {"main_point": "Why maps matter", "words": 100},
                    {"main_point": "How old maps were drawn", "words": 100},
                ]
            }
        )
    )
    out_json, out_md = tmp_path / "doc.json", tmp_path / "doc.md"
    result = run_cli(
        [
            "write",
            "Write a short history of maps.",
            "--words",
            "200",
            "--plan",
            str(plan),
            "--seed",
            "5",
            "--json",
            str(out_json),
            "--out",
            str(out_md),
        ],
        tmp_path,
        models_dir,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(out_json.read_text())
    assert record["instruction"] == "Write a short history of maps."
    assert record["target_words"] == 200 and record["mode"] == "agentwrite" and record["model"] == "smollm2-135m"
    assert [s["main_point"] for s in record["plan"]["sections"]] == ["Why maps matter", "How old maps were drawn"]
    assert [s["target_words"] for s in record["sections"]] == [100, 100]
    assert record["text"] == "\n\n".join(s["text"] for s in record["sections"])
    assert record["words"] == count_words(record["text"]) > 0
    assert record["length_score"] == pytest.approx(length_score(200, record["words"]), abs=0.01)
    assert record["timings"]["write_seconds"] > 0
    assert out_md.read_text() == to_markdown(record)  # the export: the title, then each section under a heading
    assert out_md.read_text().startswith(f"# {document_title(record)}\n")

    listed = json.loads(run_cli(["list", "--json"], tmp_path, models_dir).stdout)
    assert [d["id"] for d in listed] == [record["id"]] and listed[0]["status"] == "done"
    shown = json.loads(run_cli(["show", record["id"], "--json"], tmp_path, models_dir).stdout)
    assert shown["text"] == record["text"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["write", "", "--words", "500"], "instruction is empty"),
        (["write", "Essay", "--words", "5"], "between 100 and"),
        (["write", "Essay", "--mode", "poetry"], "Unknown mode"),
        (["show", "nope"], "no document nope"),
    ],
)
def test_bad_input_gets_a_message_not_a_traceback(
    tmp_path: Path, models_dir: Path, args: list[str], message: str
) -> None:
    result = run_cli(args, tmp_path, models_dir)
    assert result.returncode != 0
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_broken_plan_file_is_explained(tmp_path: Path, models_dir: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"sections": [{"main_point": "", "words": 100}]}')
    result = run_cli(["write", "Essay", "--plan", str(bad)], tmp_path, models_dir)
    assert result.returncode != 0 and "no main point" in result.stderr and "Traceback" not in result.stderr
