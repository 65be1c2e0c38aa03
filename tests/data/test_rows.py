"""polaris.data: reading tables and preparing rows (field mapping, targets, filters, references)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polaris.data import (
    DataError,
    PreparedRows,
    RowError,
    RowSpec,
    TableReadError,
    attach_references,
    fill_template,
    pick_template,
    prepare_rows,
    read_table,
)

POLARIS_FIELDS = dict(id_field="uid", prompt_field="prompt", target_field="target_word_count")


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_read_jsonl_located_errors(tmp_path: Path) -> None:
    good = _jsonl(tmp_path / "a.jsonl", [{"id": 1}, "", {"id": 2}])
    assert [(n, r["id"]) for n, r in read_table(good)] == [(1, 1), (3, 2)]
    bad = _jsonl(tmp_path / "b.jsonl", [{"id": 1}, '{"id": 2,', {"id": 3}])
    with pytest.raises(TableReadError, match=r"b\.jsonl:2: not valid JSON"):
        list(read_table(bad))
    arr = _jsonl(tmp_path / "c.jsonl", [{"id": 1}, "[1, 2]"])
    with pytest.raises(TableReadError, match=r"c\.jsonl:2: expected a JSON object per line, got list"):
        list(read_table(arr))
    with pytest.raises(TableReadError, match="file not found"):
        list(read_table(tmp_path / "missing.jsonl"))
    with pytest.raises(DataError, match="cannot tell the format"):
        list(read_table(tmp_path / "x.csv"))


def test_read_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"uid": ["a", "b", "c"], "prompt": ["p1", "p2", "p3"]}), path)
    assert [(n, r["uid"]) for n, r in read_table(path)] == [(1, "a"), (2, "b"), (3, "c")]
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(TableReadError, match="not a readable Parquet file"):
        list(read_table(tmp_path / "broken.parquet"))


def test_polaris_field_mapping_and_keep_mode() -> None:
    spec = RowSpec(**POLARIS_FIELDS, length_mode="keep", hri_enabled=False,
                   templates=("Your story should be approximately {target_words} words long.",))
    raw = [{"uid": "u1", "prompt": "Write a story about a lighthouse keeper. Your story should be approximately "
                                    "2,000 words long.", "target_word_count": 2000}]
    out = prepare_rows(raw, spec, split="train")
    (row,) = out.rows
    assert row["id"] == "u1"
    assert row["messages"] == [{"role": "user", "content": raw[0]["prompt"]}]
    label = row["label"]
    assert label["target_words"] == 2000 and label["split"] == "train" and label["id"] == "u1"
    assert "2,000" not in label["judge_prompt"] and "lighthouse keeper" in label["judge_prompt"]
    assert label["reference"] is None and label["reasoning"] is None


def test_append_mode_is_deterministic_per_row_and_formats_numbers() -> None:
    templates = ("A {target_words} words.", "B {target_words} words.", "C {target_words} words.")
    spec = RowSpec(templates=templates, number_format="comma", shuffle_seed=7)
    raw = [{"id": f"r{i}", "prompt": f"Story {i}.", "target_words": 1500 + i} for i in range(30)]
    first = prepare_rows(raw, spec, split="train").rows
    again = prepare_rows(list(reversed(raw)), spec, split="train").rows
    by_id = {r["id"]: r for r in again}
    for row in first:
        assert row["messages"][-1]["content"] == by_id[row["id"]]["messages"][-1]["content"]
        assert row["label"]["judge_prompt"] == next(r["prompt"] for r in raw if r["id"] == row["id"])
    used = {r["messages"][-1]["content"].split(" ")[2] for r in first}
    assert used == {"A", "B", "C"}  # 30 rows spread over all phrasings
    assert first[0]["messages"][-1]["content"].endswith("1,500 words.")
    other_seed = prepare_rows(raw, RowSpec(templates=templates, shuffle_seed=8), split="train").rows
    assert [r["messages"] for r in other_seed] != [r["messages"] for r in first]
    assert fill_template("About {target_words} words", 12000, "plain") == "About 12000 words"
    assert fill_template("About {target_words:,} words", 12000, "plain") == "About 12,000 words"
    assert pick_template(templates, "x", 1) == pick_template(list(templates), "x", 1)


def test_system_prompt_goes_first() -> None:
    out = prepare_rows([{"id": 1, "prompt": "P.", "target_words": 10}], RowSpec(system_prompt="Be kind."), split="eval")
    assert out.rows[0]["messages"][0] == {"role": "system", "content": "Be kind."}
    assert out.rows[0]["id"] == "1" and out.rows[0]["label"]["split"] == "eval"


def test_target_parse_fallback_and_drops() -> None:
    spec = RowSpec(target_field="target_words", min_target_words=500, max_target_words=3000, length_mode="none")
    raw = [
        {"id": "parsed", "prompt": "Write a 1,200-word fable."},
        {"id": "none-given", "prompt": "Write a fable."},
        {"id": "short", "prompt": "x", "target_words": 100},
        {"id": "long", "prompt": "x", "target_words": "4,000"},
        {"id": "ok", "prompt": "x", "target_words": 2000.0},
    ]
    out = prepare_rows(raw, spec, split="train")
    assert [r["id"] for r in out.rows] == ["parsed", "ok"]
    assert out.rows[0]["label"]["target_words"] == 1200
    assert out.dropped == {"no_target_words": ["none-given"], "target_below_min": ["short"],
                           "target_above_max": ["long"]}
    assert out.total == 5 and out.dropped_counts()["target_above_max"] == 1
    assert any("dropped 1 row(s): no_target_words (ids: none-given)" in line for line in out.report("train"))


def test_bad_rows_are_errors_with_location() -> None:
    spec = RowSpec()
    with pytest.raises(RowError, match=r"src:2: no 'id' field"):
        prepare_rows([(1, {"id": "a", "prompt": "p", "target_words": 5}), (2, {"prompt": "p"})], spec,
                     split="train", source="src")
    with pytest.raises(RowError, match=r"<rows>:2: duplicate id 'a'"):
        prepare_rows([{"id": "a", "prompt": "p", "target_words": 5}] * 2, spec, split="train")
    with pytest.raises(RowError, match=r"has no text in 'prompt'"):
        prepare_rows([{"id": "a", "prompt": "  ", "target_words": 5}], spec, split="train")
    with pytest.raises(RowError, match=r"target_words must be a whole number of words, got 'lots'"):
        prepare_rows([{"id": "a", "prompt": "p", "target_words": "lots"}], spec, split="train")


def _refs() -> list[dict]:
    return [{"uid": "a", "story": "Once.", "why": "plan"}, {"uid": "b", "story": "", "why": None},
            {"uid": "zzz", "story": "unused", "why": "x"}]


def test_join_references_and_missing_reference_policy() -> None:
    base = dict(**POLARIS_FIELDS, hri_enabled=True, ref_id_field="uid", ref_story_field="story",
                ref_reasoning_field="why", length_mode="none")
    raw = [{"uid": u, "prompt": "p", "target_word_count": 900} for u in ("a", "b", "c")]
    out = prepare_rows(raw, RowSpec(**base, missing_references="drop"), split="train", references=_refs())
    assert [r["id"] for r in out.rows] == ["a"]
    assert out.rows[0]["label"]["reference"] == "Once." and out.rows[0]["label"]["reasoning"] == "plan"
    assert out.dropped == {"missing_reference": ["b", "c"]} and out.stats["unused_references"] == 1  # zzz
    with pytest.raises(RowError, match=r"training row 'b' has no human reference"):
        prepare_rows(raw, RowSpec(**base, missing_references="error"), split="train", references=_refs())
    # eval rows never carry a reference and are never dropped for lacking one
    ev = prepare_rows(raw, RowSpec(**base), split="eval", references=_refs())
    assert len(ev.rows) == 3 and all(r["label"]["reference"] is None for r in ev.rows)


def test_reasoning_required_with_thinking() -> None:
    spec = RowSpec(hri_enabled=True, require_reasoning_trace=True, reference_field="ref", reasoning_field="why",
                   missing_references="drop", length_mode="none")
    raw = [{"id": "a", "prompt": "p", "target_words": 10, "ref": "S", "why": "R"},
           {"id": "b", "prompt": "p", "target_words": 10, "ref": "S"}]
    out = prepare_rows(raw, spec, split="train")
    assert [r["id"] for r in out.rows] == ["a"] and out.dropped == {"missing_reasoning": ["b"]}


def test_references_deferred_when_not_available_here_then_attached() -> None:
    spec = RowSpec(hri_enabled=True, ref_id_field="uid", ref_story_field="story", ref_reasoning_field="why",
                   missing_references="drop", length_mode="none")
    raw = [{"id": i, "prompt": "p", "target_words": 10} for i in ("a", "b")]
    deferred = prepare_rows(raw, spec, split="train")  # references live on the cluster: no check yet
    assert len(deferred.rows) == 2 and not deferred.dropped
    joined = attach_references(deferred.rows, _refs(), spec)
    assert [r["id"] for r in joined.rows] == ["a"] and joined.dropped == {"missing_reference": ["b"]}
    assert joined.rows[0]["label"]["reference"] == "Once."
    with pytest.raises(RowError, match="duplicate reference id 'a'"):
        attach_references(deferred.rows, _refs() + [{"uid": "a", "story": "again"}], spec)


def test_max_samples_is_a_seeded_counted_subset() -> None:
    raw = [{"id": f"r{i:02d}", "prompt": "p", "target_words": 10} for i in range(20)]
    out = prepare_rows(raw, RowSpec(max_samples=5, shuffle_seed=1), split="train")
    again = prepare_rows(raw, RowSpec(max_samples=5, shuffle_seed=1), split="train")
    assert [r["id"] for r in out.rows] == [r["id"] for r in again.rows]
    assert [r["id"] for r in out.rows] == sorted(r["id"] for r in out.rows)  # file order kept
    assert len(out.dropped["max_samples"]) == 15
    assert set(out.dropped["max_samples"]) | {r["id"] for r in out.rows} == {r["id"] for r in raw}
    ev = prepare_rows(raw, RowSpec(max_samples=5, max_eval_samples=3), split="eval")
    assert len(ev.rows) == 3


def test_row_spec_round_trip_and_from_recipe() -> None:
    from polaris.recipe import load_recipe

    root = Path(__file__).resolve().parents[2]
    loaded = load_recipe(str(root / "recipes" / "polaris9b.yaml"), [])
    spec = RowSpec.from_recipe(loaded.recipe)
    assert (spec.id_field, spec.target_field, spec.length_mode) == ("uid", "target_word_count", "keep")
    assert spec.ref_id_field == "uid" and spec.require_reasoning_trace and spec.hri_enabled
    assert RowSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(DataError, match="unknown key"):
        RowSpec.from_dict({**spec.to_dict(), "surprise": 1})
    with pytest.raises(DataError, match="placeholder"):
        RowSpec(templates=("no number here",))


def test_prepared_rows_report_lists_stats() -> None:
    pr = PreparedRows(rows=[{}], dropped={"x": ["1", "2", "3", "4", "5", "6"]}, total=7, stats={"unused_references": 2})
    lines = pr.report("train")
    assert lines[0] == "train: kept 1 of 7 row(s)" and lines[1].endswith("(ids: 1, 2, 3, 4, 5, ...)")
    assert lines[2] == "train: unused_references: 2"
