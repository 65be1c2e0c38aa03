"""Resolved YAML, canonical JSON, hash and semantic diff."""

from __future__ import annotations

import json

from recipe_helpers import load
from recipe_models import VALID
from ruamel.yaml import YAML

from polaris.recipe import ABSENT, find_position, canonical_json, diff_recipes, dump_resolved, recipe_hash


def test_dump_resolved_roundtrips_in_schema_order(write):
    write("r.yaml", VALID.replace("name: demo", "name: 'no'"))
    loaded = load("r.yaml", ["grpo.learning_rate=1e-6"])
    text = dump_resolved(loaded)
    assert text.startswith("# Resolved recipe: r.yaml\n# --set grpo.learning_rate=1e-6\n# recipe hash: sha256:")
    y = YAML(typ="safe", pure=True)
    back = y.load(text)
    assert back == loaded.recipe.model_dump(mode="json")
    assert list(back) == list(type(loaded.recipe).model_fields)
    assert "logging: null" in text


def test_hash_is_stable_and_sensitive(write):
    write("a.yaml", VALID)
    write("b.yaml", "# same settings, different spelling\n" + VALID.replace("tags: [a, b]", "tags:\n  - a\n  - b"))
    a, b = load("a.yaml"), load("b.yaml")
    assert recipe_hash(a) == recipe_hash(b)
    assert len(recipe_hash(a)) == 64
    assert recipe_hash(load("a.yaml", ["tags=[a]"])) != recipe_hash(a)
    canon = canonical_json(a.recipe)
    assert json.loads(canon) == a.recipe.model_dump(mode="json")
    assert canon == json.dumps(json.loads(canon), sort_keys=True, separators=(",", ":"))


def test_diff(write):
    write("a.yaml", VALID)
    a = load("a.yaml")
    b = load("a.yaml", ["grpo.samples_per_prompt=4", "tags=[a]", "judge={_replace: true, provider: local, url: u}"])
    diff = {p: (x, y) for p, x, y in diff_recipes(a, b)}
    assert diff["grpo.samples_per_prompt"] == (6, 4)
    assert diff["tags"] == (["a", "b"], ["a"])
    assert diff["judge.provider"] == ("openai", "local")
    assert diff["judge.url"] == (ABSENT, "u")
    assert diff["judge.api_key_env"] == ("OPENAI_API_KEY", ABSENT)
    assert diff_recipes(a, a) == []


def test_find_position():
    root = YAML().load("a:\n  b: [1, {c: 2}]\nd: x\n")
    assert find_position(root, ("a", "b", 1, "c")) == (2, 11)
    assert find_position(root, ("a", "b", 1, "c"), key=False) == (2, 14)
    assert find_position(root, ("d",), key=False) == (3, 4)
    assert find_position(root, ("a", "zz")) is None
