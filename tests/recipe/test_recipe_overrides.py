"""``--set``: YAML 1.2 value parsing, paths with indices, created mappings, located problems."""

from __future__ import annotations

import pytest
from recipe_helpers import formatted, load, problems_of
from recipe_models import VALID

from pydantic import BaseModel, ConfigDict

from polaris.recipe import parse_path


class _Loose(BaseModel):
    """Accepts anything: isolates --set parsing from schema validation."""

    model_config = ConfigDict(extra="allow")


@pytest.fixture
def valid(write):
    return write("r.yaml", VALID)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("no", "no"), ("on", "on"), ("1e-6", 1e-6), ("[1, 2]", [1, 2]), ("null", None), ("~", None),
     ("'0.10'", "0.10"), ("0.10", 0.1), ("true", True), ("{a: 1}", {"a": 1}), ("a b", "a b"),
     ("'a: b'", "a: b"), ("12", 12)],
)
def test_values_are_yaml_1_2(valid, text, expected):
    loaded = load(valid, ["tags=[x]", "data.path=p", f"name={text}"], model=_Loose)
    assert loaded.data["name"] == expected
    assert type(loaded.data["name"]) is type(expected)


def test_index_forms_and_append(valid):
    loaded = load(valid, ["data.filters[0].value=7", "data.filters.0.kind=max_words", "tags[2]=c",
                          "grpo.sampling.stop.0=END"])
    assert loaded.recipe.data.filters[0].value == 7
    assert loaded.recipe.data.filters[0].kind == "max_words"
    assert loaded.recipe.tags == ["a", "b", "c"]
    assert loaded.recipe.grpo.sampling.stop == ["END"]


def test_later_set_wins_and_mapping_merges(valid):
    loaded = load(valid, ["grpo.samples_per_prompt=4", "grpo.samples_per_prompt=5",
                          "grpo.sampling={temperature: 0.1}"])
    assert loaded.recipe.grpo.samples_per_prompt == 5
    assert loaded.recipe.grpo.sampling.temperature == 0.1
    assert loaded.recipe.grpo.sampling.stop == ["</story>"]  # merged, not replaced
    replaced = load(valid, ["grpo.sampling={_replace: true, top_p: 0.5}"])
    assert replaced.recipe.grpo.sampling.stop == [] and replaced.recipe.grpo.sampling.temperature == 1.0


def test_creates_missing_section(valid):
    loaded = load(valid, ["logging.every=5"])
    assert loaded.recipe.logging.every == 5


def test_no_equals(valid):
    assert formatted(valid, ["grpo.samples_per_prompt=4", "grpo.loss"]) == (
        "<--set>:2:1: expected KEY=VALUE, got 'grpo.loss' (no '=')\n"
        "    hint: write `--set grpo.samples_per_prompt=8` (KEY=VALUE, VALUE in YAML)"
    )


def test_unknown_key_points_into_the_argument(valid):
    assert formatted(valid, ["grpo.sampling.temprature=0.5"]) == (
        "<--set>:1:15: grpo.sampling.temprature: unknown key `temprature`\n"
        "    hint: did you mean `temperature`?"
    )


def test_unknown_section_created_by_set(valid):
    [p] = problems_of(valid, ["judg.model=x"])
    assert (p.file, p.line, p.col, p.path) == ("<--set>", 1, 1, "judg")
    assert p.hint == "did you mean `judge`?"


def test_bad_yaml_value(valid):
    assert formatted(valid, ["name=x", "tags=[a, b"]) == (
        "<--set>:2:11: tags: bad YAML value in --set: expected ',' or ']', but got '<stream end>'\n"
        "    hint: quote strings with special characters: KEY='a: b'"
    )


def test_wrong_type_from_set_points_at_value(valid):
    [p] = problems_of(valid, ["cluster.gpus=two"])
    assert (p.file, p.line, p.col, p.path) == ("<--set>", 1, 14, "cluster.gpus")
    assert p.message == "must be a valid integer, unable to parse string as an integer (got 'two')"


@pytest.mark.parametrize(
    ("arg", "col", "message"),
    [("=1", 1, "bad key in --set: empty key"),
     ("a..b=1", 3, "bad key in --set: empty key segment in key path"),
     ("tags[x]=1", 5, "bad key in --set: list index must be a non-negative integer, got [x]"),
     ("name=", 6, "empty value in --set"),
     ("name=a: b", 6, "a --set value must be one scalar or a flow collection"),
     ("tags[9]=z", 5, "index 9 is out of range: `tags` has 2 items"),
     ("name.first=z", 6, "cannot set a key inside `name`: it is a string, not a mapping"),
     ("tags.first=z", 6, "`tags` is a list, not a mapping"),
     ("grpo[0]=z", 5, "`grpo` is a mapping, not a list"),
     ("name={1: a}", 6, "keys must be strings, found 1")],
)
def test_malformed_sets(valid, arg, col, message):
    ps = problems_of(valid, ["name=ok", arg])
    assert [(p.file, p.line, p.col, p.message) for p in ps] == [("<--set>", 2, col, message)]


def test_all_set_problems_and_file_problems_together(write):
    write("r.yaml", VALID.replace("  samples_per_prompt: 6", "  samples_per_prompt: 6\n  los: x"))
    ps = problems_of("r.yaml", ["foo", "grpo.loss=bad"])
    assert [(p.file, p.line, p.path) for p in ps] == [
        ("<--set>", 1, ""), ("<--set>", 2, "grpo.loss"), ("r.yaml", 10, "grpo.los")]


def test_parse_path():
    assert parse_path("a.b[0].c")[0] == ("a", "b", 0, "c")
    assert parse_path("a.b[0][1]")[1] == [0, 2, 3, 6]
