"""`polaris score` input handling: every input row gets one output row, bad values are bad rows."""

from __future__ import annotations

import json
from pathlib import Path

from polaris.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "recipes" / "demo.yaml")


def _score(tmp_path, lines: bytes, *extra: str, out: str = "out.jsonl") -> tuple[int, list[dict]]:
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines)
    rc = main(["score", DEMO, str(src), "-o", str(tmp_path / out), "--no-progress", *extra])
    rows = [json.loads(x) for x in (tmp_path / out).read_text().splitlines()] if (tmp_path / out).exists() else []
    return rc, rows


def test_bad_targets_and_bytes_become_located_bad_rows(tmp_path, capsys):
    story = "The fox ran. " * 40
    lines = b"".join([
        json.dumps({"id": "a", "prompt": "p", "response": story, "target_words": "many"}).encode() + b"\n",
        json.dumps({"id": "b", "prompt": "p", "response": story, "target_words": -5}).encode() + b"\n",
        json.dumps({"id": "c", "prompt": "p", "response": story, "target_words": 1e300}).encode() + b"\n",
        b"\xff\xfe not utf-8\n",
        json.dumps({"id": "d", "prompt": "p", "response": story, "target_words": "3k"}).encode() + b"\n",
        json.dumps({"id": "e", "prompt": "p", "response": story, "target_words": 2500}).encode() + b"\n",
    ])
    rc, rows = _score(tmp_path, lines, "--judge", "none")
    assert rc == 1  # bad rows are reported in the exit code
    assert [r["id"] for r in rows] == ["a", "b", "c", "line:4", "d", "e"]  # one output row per input row
    errors = {r["id"]: r.get("error", "") for r in rows}
    assert "in.jsonl:1:" in errors["a"] and "not a number of words" in errors["a"]
    assert "in.jsonl:2:" in errors["b"] and "between 1 and" in errors["b"]
    assert "in.jsonl:3:" in errors["c"]
    assert "in.jsonl:4:" in errors["line:4"] and "UTF-8" in errors["line:4"]
    assert rows[4]["target_words"] == 3000 and rows[5]["target_words"] == 2500
    assert rows[4]["failed"] is False and rows[4]["story_quality"] is None  # no judge: null, never 0
    assert all(r["judge"] == "none" for r in rows)


def test_resume_with_another_judge_is_refused(tmp_path, capsys):
    line = json.dumps({"id": "a", "prompt": "p", "response": "A fox. " * 50, "target_words": 300}).encode() + b"\n"
    rc, rows = _score(tmp_path, line, "--judge", "none")
    assert rc == 0 and len(rows) == 1
    rc, rows_after = _score(tmp_path, line, "--judge-url", "http://127.0.0.1:9/v1")
    assert rc == 2 and "scored with judge 'none'" in capsys.readouterr().err
    assert rows_after == rows  # nothing appended


def test_invalid_judge_override_is_a_clean_error(tmp_path, capsys):
    line = json.dumps({"id": "a", "prompt": "p", "response": "x"}).encode() + b"\n"
    rc, _ = _score(tmp_path, line, "--judge-url", "nourl")
    err = capsys.readouterr().err
    assert rc == 3 and "judge.backend: base_url 'nourl' must start with http://" in err
    assert "pydantic" not in err
