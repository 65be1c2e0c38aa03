"""``extends``: relative paths, recursion, cycles, missing files, merge rules, ``_replace``."""

from __future__ import annotations

from pathlib import Path

import pytest
from recipe_helpers import formatted, load, problems_of

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def in_tests(monkeypatch):
    """Run from tests/recipe so fixture paths print as ``fixtures/...``."""
    monkeypatch.chdir(FIXTURES.parent)


def test_child_merges_over_base(in_tests):
    loaded = load("fixtures/child.yaml")
    r = loaded.recipe
    assert r.name == "child-run"
    assert r.grpo.samples_per_prompt == 4  # inherited
    assert r.grpo.sampling.temperature == 0.9  # inherited next to an overridden sibling
    assert r.grpo.sampling.stop == ["</story>"]  # list replaced wholesale, not merged
    assert [f.kind for f in r.data.filters] == ["min_words", "max_words"]
    assert r.tags == []  # an empty list replaces too
    # _replace: true dropped the base's url and model; the new judge is only what the child wrote
    assert r.judge.provider == "openai" and r.judge.model == "gpt-4o-mini"
    assert "url" not in loaded.data["judge"] and "_replace" not in loaded.data["judge"]
    assert "extends" not in loaded.data
    assert [f.path for f in loaded.files] == ["fixtures/child.yaml", "fixtures/base.yaml"]
    assert all(len(f.sha256) == 64 for f in loaded.files)


def test_grandchild_relative_to_its_own_dir(in_tests):
    loaded = load("fixtures/sub/grandchild.yaml")
    assert loaded.recipe.grpo.samples_per_prompt == 8
    assert loaded.recipe.name == "child-run"
    assert [f.path for f in loaded.files] == [
        "fixtures/sub/grandchild.yaml", "fixtures/child.yaml", "fixtures/base.yaml"]


def test_without_replace_mapping_merges(write):
    write("base.yaml", "name: b\ndata: {path: d}\njudge: {provider: local, url: u, model: m}\n")
    write("r.yaml", "extends: base.yaml\njudge:\n  model: other\n")
    loaded = load("r.yaml")
    assert loaded.data["judge"] == {"provider": "local", "url": "u", "model": "other"}


def test_null_is_a_value_not_a_deletion(write):
    write("base.yaml", "name: b\ndata: {path: d, eval_path: e.jsonl}\njudge: {provider: local, url: u}\n")
    write("r.yaml", "extends: base.yaml\ndata:\n  eval_path: null\n")
    loaded = load("r.yaml")
    assert loaded.data["data"] == {"path": "d", "eval_path": None}
    assert loaded.recipe.data.eval_path is None


def test_bad_replace_value(write):
    write("r.yaml", "name: n\ndata: {path: d}\njudge:\n  _replace: yes\n  provider: local\n  url: u\n")
    [p] = problems_of("r.yaml")
    assert (p.line, p.col, p.path) == (4, 13, "judge._replace")
    assert p.message == "`_replace` must be true or false, got 'yes'"


def test_cycle_names_the_chain_at_the_extends_key(in_tests):
    assert formatted("fixtures/cycle_a.yaml") == (
        "fixtures/cycle_b.yaml:2:1: extends: extends cycle: fixtures/cycle_a.yaml -> "
        "fixtures/cycle_b.yaml -> fixtures/cycle_a.yaml\n"
        "    hint: remove one of the `extends` entries that form the loop"
    )


def test_self_extends(write):
    write("r.yaml", "name: x\nextends: r.yaml\n")
    [p] = problems_of("r.yaml")
    assert (p.line, p.col, p.message) == (2, 1, "extends cycle: r.yaml -> r.yaml")


def test_missing_base_located_at_the_value(in_tests):
    assert formatted("fixtures/missing_base.yaml") == (
        "fixtures/missing_base.yaml:4:5: extends: extended file 'nowhere/other.yaml' not found "
        "(looked for fixtures/nowhere/other.yaml)\n"
        "    hint: paths in `extends` are relative to the file that contains them"
    )


def test_extends_scalar_missing(write):
    write("r.yaml", "name: x\nextends: base.yml\n")
    [p] = problems_of("r.yaml")
    assert (p.line, p.col) == (2, 10)
    assert p.message == "extended file 'base.yml' not found (looked for base.yml)"


def test_bad_extends_value(write):
    write("r.yaml", "extends: [1]\nname: n\ndata: {path: d}\njudge: {provider: local, url: u}\n")
    [p] = problems_of("r.yaml")
    assert (p.line, p.col, p.message) == (1, 11, "`extends` entries must be file paths, got 1")


def test_errors_in_base_and_child_reported_together(write):
    write("base.yaml", "name: b\ndata: {path: d}\njudge: {provider: local, url: u}\ngrpo: {loss: x}\n")
    write("r.yaml", "extends: base.yaml\ngrpo:\n  samples_per_prompt: 100\n")
    ps = problems_of("r.yaml")
    assert [(p.file, p.line, p.col, p.path) for p in ps] == [
        ("base.yaml", 4, 14, "grpo.loss"), ("r.yaml", 3, 23, "grpo.samples_per_prompt")]


def test_yaml_error_in_base(write):
    write("base.yaml", "name: [b\n")
    write("r.yaml", "extends: base.yaml\nname: c\n")
    [p] = problems_of("r.yaml")
    assert p.file == "base.yaml" and p.message.startswith("YAML syntax error")


def test_diamond_is_not_a_cycle(write):
    write("d.yaml", "name: d\ndata: {path: d}\njudge: {provider: local, url: u}\n")
    write("b.yaml", "extends: d.yaml\ntags: [b]\n")
    write("c.yaml", "extends: d.yaml\ntags: [c]\ngrpo: {loss: gspo}\n")
    write("a.yaml", "extends: [b.yaml, c.yaml]\n")
    loaded = load("a.yaml")
    assert loaded.recipe.tags == ["c"]  # later base wins
    assert loaded.recipe.grpo.loss == "gspo"
    assert [f.path for f in loaded.files] == ["a.yaml", "b.yaml", "d.yaml", "c.yaml"]


def test_extends_null_means_no_base(write):
    write("r.yaml", "extends: null\nname: n\ndata: {path: d}\njudge: {provider: local, url: u}\n")
    assert load("r.yaml").recipe.name == "n"
