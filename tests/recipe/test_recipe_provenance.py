"""Provenance: default < extends chain < recipe file < --set, with positions."""

from __future__ import annotations

import pytest
from recipe_helpers import load


@pytest.fixture
def chain(write):
    write("base.yaml", """\
        name: base
        data: {path: d}
        judge: {provider: local, url: u}
        grpo:
          samples_per_prompt: 4
          sampling:
            temperature: 0.9
        tags: [x, y]
        """)
    write("r.yaml", """\
        extends: base.yaml
        grpo:
          samples_per_prompt: 6
        """)
    return "r.yaml"


def _trail(sources):
    return [(s.kind, s.file, s.line, s.col, s.text) for s in sources]


def test_default_base_child_set(chain):
    loaded = load(chain, ["grpo.samples_per_prompt=8"])
    assert _trail(loaded.explain("grpo.samples_per_prompt")) == [
        ("default", "<default>", None, None, "8"),
        ("file", "base.yaml", 5, 23, "4"),
        ("file", "r.yaml", 3, 23, "6"),
        ("set", "<--set>", 1, 25, "grpo.samples_per_prompt=8"),
    ]
    assert loaded.recipe.grpo.samples_per_prompt == 8


def test_default_only_and_base_only(chain):
    loaded = load(chain)
    assert _trail(loaded.explain("grpo.loss")) == [("default", "<default>", None, None, "'grpo'")]
    assert _trail(loaded.explain("grpo.sampling.temperature")) == [
        ("default", "<default>", None, None, "1.0"), ("file", "base.yaml", 7, 18, "0.9")]
    # required field: no default entry
    assert _trail(loaded.explain("name")) == [("file", "base.yaml", 1, 7, "'base'")]


def test_lists_and_items(chain):
    loaded = load(chain, ["tags.1=z"])
    assert [s.kind for s in loaded.explain("tags")] == ["default", "file"]
    assert _trail(loaded.explain("tags[1]")) == [
        ("file", "base.yaml", 8, 11, "'y'"), ("set", "<--set>", 1, 8, "tags.1=z")]
    assert loaded.explain("tags.1") == loaded.explain("tags[1]")


def test_replace_restarts_history(write):
    write("base.yaml", "name: b\ndata: {path: d}\njudge: {provider: local, url: u, model: m}\n")
    write("r.yaml", "extends: base.yaml\njudge:\n  _replace: true\n  provider: local\n  url: v\n")
    loaded = load("r.yaml")
    assert [s.file for s in loaded.explain("judge.url")] == ["r.yaml"]
    # model was dropped by _replace: it is the schema default again, not base.yaml's value
    assert _trail(loaded.explain("judge.model")) == [("default", "<default>", None, None, "'local'")]
    assert loaded.recipe.judge.model == "local"


def test_every_node_has_provenance(chain):
    loaded = load(chain)
    for key in ("grpo", "grpo.sampling", "cluster.gpus", "judge.model", "data.filters", "logging"):
        assert loaded.provenance[key], key
    assert "extends" not in loaded.provenance


def test_unknown_path_suggests(chain):
    loaded = load(chain)
    with pytest.raises(KeyError, match="did you mean `grpo.samples_per_prompt`"):
        loaded.explain("grpo.samples_per_promt")
