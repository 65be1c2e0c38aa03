"""Golden tests: the exact message, hint and file:line:col of each kind of mistake."""

from __future__ import annotations

from recipe_helpers import formatted, problems_of
from recipe_models import VALID

from polaris.recipe import Problem, RecipeError

BASE = """\
name: demo
data:
  path: d.jsonl
judge:
  provider: openai
  model: m
"""


def test_typo_key_did_you_mean(write):
    write("r.yaml", BASE + "grpo:\n  samples_per_promt: 4\n")
    assert formatted("r.yaml") == (
        "r.yaml:8:3: grpo.samples_per_promt: unknown key `samples_per_promt`\n"
        "    hint: did you mean `samples_per_prompt`?"
    )


def test_key_in_wrong_section(write):
    write("r.yaml", BASE + "grpo:\n  loss: grpo\n  temperature: 0.7\n")
    assert formatted("r.yaml") == (
        "r.yaml:9:3: grpo.temperature: unknown key `temperature`\n"
        "    hint: `temperature` is not a field of `grpo`; did you mean `grpo.sampling.temperature`?"
    )


def test_top_level_key_that_belongs_in_a_section(write):
    write("r.yaml", BASE + "gpus: 4\n")
    [p] = problems_of("r.yaml")
    assert (p.line, p.col, p.path) == (7, 1, "gpus")
    assert p.hint == "`gpus` is not a top-level key; did you mean `cluster.gpus`?"


def test_wrong_type(write):
    write("r.yaml", BASE + "grpo:\n  samples_per_prompt: abc\n")
    assert formatted("r.yaml") == (
        "r.yaml:8:23: grpo.samples_per_prompt: must be a valid integer, unable to parse string as an "
        "integer (got 'abc')\n"
        "    hint: expected an integer"
    )


def test_out_of_range(write):
    write("r.yaml", BASE + "grpo:\n  sampling:\n    temperature: 2.5\n")
    assert formatted("r.yaml") == (
        "r.yaml:9:18: grpo.sampling.temperature: must be less than or equal to 2 (got 2.5)\n"
        "    hint: allowed range: >= 0.0 and <= 2.0"
    )


def test_bad_literal(write):
    write("r.yaml", BASE + "grpo:\n  loss: drgrpo\n")
    assert formatted("r.yaml") == (
        "r.yaml:8:9: grpo.loss: must be 'grpo', 'dr_grpo' or 'gspo' (got 'drgrpo')\n"
        "    hint: did you mean 'dr_grpo'? allowed values: 'grpo', 'dr_grpo', 'gspo'"
    )


def test_bad_discriminator_points_at_the_tag(write):
    write("r.yaml", BASE.replace("provider: openai", "provider: opnai"))
    assert formatted("r.yaml") == (
        "r.yaml:5:13: judge.provider: unknown provider 'opnai'\n"
        "    hint: did you mean 'openai'? allowed values: 'openai', 'local'"
    )


def test_missing_required_key_points_at_parent_key(write):
    write("r.yaml", "name: demo\ndata:\n  filters: []\njudge:\n  provider: local\n")
    assert formatted("r.yaml") == (
        "r.yaml:2:1: data.path: required key `path` is missing\n"
        "    hint: add `path:` under `data` (Prompt dataset (JSONL))\n"
        "r.yaml:4:1: judge.url: required key `url` is missing\n"
        "    hint: add `url:` under `judge` (Base URL of the server)"
    )


def test_missing_top_level_key_points_at_file_start(write):
    write("r.yaml", "data:\n  path: d\njudge: {provider: local, url: u}\n")
    [p] = problems_of("r.yaml")
    assert (p.file, p.line, p.col, p.path) == ("r.yaml", 1, 1, "name")
    assert p.hint == "add `name:` at the top level (Run name)"


def test_field_validator_error_shows_the_value(write):
    write("r.yaml", BASE.replace("name: demo", "name: Demo"))
    assert formatted("r.yaml") == "r.yaml:1:7: name: use lower-case letters (got 'Demo')"


def test_model_validator_error_located_at_section_key(write):
    write("r.yaml", BASE + "cluster:\n  gpus: 3\n  nodes: 2\n")
    assert formatted("r.yaml") == (
        "r.yaml:7:1: cluster: cluster.gpus (3) must be divisible by cluster.nodes (2)"
    )


def test_root_validator_error_falls_back_to_first_line(write):
    write("r.yaml", BASE + "cluster: {gpus: 1}\ngrpo: {samples_per_prompt: 9}\n")
    [p] = problems_of("r.yaml")
    assert (p.line, p.col, p.path) == (1, 1, "")
    assert p.message == "grpo.samples_per_prompt must be at most 8 x cluster.gpus"


def test_three_errors_in_one_file_are_reported_together(write):
    write("r.yaml", BASE + "grpo:\n  samples_per_prompt: 1\n  loss: nope\n  extra_key: 1\n")
    ps = problems_of("r.yaml")
    assert [(p.line, p.col, p.path) for p in ps] == [
        (8, 23, "grpo.samples_per_prompt"), (9, 9, "grpo.loss"), (10, 3, "grpo.extra_key")]


def test_yaml_syntax_error(write):
    write("r.yaml", "name: demo\ndata:\n  path: [d.jsonl\njudge: x\n")
    [p] = problems_of("r.yaml")
    assert p.format() == (
        "r.yaml:4:6: YAML syntax error: expected ',' or ']', but got ':'\n"
        "    hint: while parsing a flow sequence (line 3, column 9)"
    )


def test_bad_indentation(write):
    write("r.yaml", "name: demo\ndata:\n  path: d\n   bad: 1\n")
    [p] = problems_of("r.yaml")
    assert (p.line, p.col) == (4, 7)
    assert p.message == "YAML syntax error: mapping values are not allowed here"


def test_duplicate_keys_all_reported(write):
    write("r.yaml", "name: a\ndata:\n  path: d\n  path: e\nname: b\n")
    assert formatted("r.yaml") == (
        "r.yaml:4:3: data.path: duplicate key `path` (first defined at line 3)\n"
        "    hint: each key may appear once per mapping; delete one of them\n"
        "r.yaml:5:1: name: duplicate key `name` (first defined at line 1)\n"
        "    hint: each key may appear once per mapping; delete one of them"
    )


def test_unknown_recipe_version(write):
    write("r.yaml", "recipe_version: 7\n" + BASE)
    [p] = problems_of("r.yaml")
    assert (p.line, p.col, p.path) == (1, 17, "recipe_version")
    assert p.message == "unknown recipe_version 7"
    assert "reads recipe_version 1" in p.hint


def test_top_level_list_and_missing_file(write):
    write("r.yaml", "- a\n- b\n")
    [p] = problems_of("r.yaml")
    assert (p.line, p.col, p.message) == (1, 1, "a recipe must be a mapping of keys, found a list")
    [p] = problems_of("nope.yaml")
    assert p.format() == "nope.yaml:1:1: recipe file not found"


def test_non_string_key_and_tag(write):
    write("r.yaml", BASE + "grpo:\n  1: x\ntags: !weird [a]\n")
    ps = problems_of("r.yaml")
    assert [(p.line, p.col, p.message) for p in ps] == [
        (8, 3, "keys must be strings, found 1"), (9, 7, "YAML tag !weird is not supported")]


def test_problem_dict_and_format():
    p = Problem("r.yaml", 3, 5, "grpo.loss", "bad", "try this")
    assert p.to_dict() == {"file": "r.yaml", "line": 3, "col": 5, "path": "grpo.loss",
                           "message": "bad", "hint": "try this"}
    assert p.format() == "r.yaml:3:5: grpo.loss: bad\n    hint: try this"
    assert Problem("r.yaml", 1, 1, "", "oops").format() == "r.yaml:1:1: oops"
    err = RecipeError([Problem("b", 1, 1, "", "x"), Problem("a", 9, 1, "", "y"), Problem("a", 2, 3, "", "z")])
    assert [(p.file, p.line) for p in err.problems] == [("a", 2), ("a", 9), ("b", 1)]
    assert str(err) == err.format()


def test_valid_recipe_loads(write):
    write("r.yaml", VALID)
    from recipe_helpers import load

    loaded = load("r.yaml")
    assert loaded.recipe.grpo.samples_per_prompt == 6
    assert loaded.recipe.grpo.sampling.stop == ["</story>"]
    assert loaded.data["tags"] == ["a", "b"]
