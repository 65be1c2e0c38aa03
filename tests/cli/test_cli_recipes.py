"""The recipe commands end to end: validate, show, diff, schema; exit codes and light imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from polaris.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
HEAVY = ("torch", "ray", "vllm", "deepspeed", "transformers", "openrlhf")


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_every_shipped_recipe_validates(recipe, capsys):
    assert main(["validate", str(recipe)]) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_every_shipped_recipe_opens_with_modeline_and_commands(recipe):
    lines = recipe.read_text().splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../schemas/recipe.schema.json"
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert f"polaris validate recipes/{recipe.name}" in header
    assert "polaris run" in header or "polaris compile" in header


def test_invalid_recipe_exit_3_and_json_shape(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel: {policy: a, thinkin: true}\ngrpo: {lr: abc}\n")
    assert main(["validate", str(bad), "--json"]) == 3
    problems = json.loads(capsys.readouterr().out)
    assert all(set(p) == {"file", "line", "col", "path", "message", "hint"} for p in problems)
    by_path = {p["path"]: p for p in problems}
    assert (by_path["model.thinkin"]["line"], by_path["model.thinkin"]["col"]) == (2, 20)
    assert "thinking" in by_path["model.thinkin"]["hint"]
    assert (by_path["grpo.lr"]["line"], by_path["grpo.lr"]["col"]) == (3, 12)
    assert {"data", "judge", "rubric"} <= set(by_path)


def test_missing_data_file_is_located(tmp_path, capsys):
    text = (ROOT / "recipes" / "demo.yaml").read_text().replace("../data/demo_stories.jsonl", "nowhere.jsonl")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(text)
    assert main(["validate", str(recipe), "--json"]) == 3
    [problem] = json.loads(capsys.readouterr().out)
    assert problem["path"] == "data.train.path" and "file not found" in problem["message"]
    line = text.splitlines()[problem["line"] - 1]
    assert "nowhere.jsonl" in line


def test_unknown_builtin_rubric(tmp_path, capsys):
    text = (ROOT / "recipes" / "demo.yaml").read_text().replace("polaris-story-quality", "no-such-rubric")
    text = text.replace("../data/", str(ROOT / "data") + "/")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(text)
    assert main(["validate", str(recipe), "--json"]) == 3
    [problem] = json.loads(capsys.readouterr().out)
    assert problem["path"] == "rubric.builtin" and "story-craft-9" in problem["hint"]


def test_show_explain_follows_extends_and_set(capsys):
    recipe = str(ROOT / "recipes" / "polaris9b-no-hri.yaml")
    assert main(["show", recipe, "--explain", "reference_injection.enabled", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in entries] == ["default", "file", "file"]
    assert entries[1]["source"].split(":")[0].endswith("polaris9b.yaml")
    assert entries[2]["source"].split(":")[0].endswith("polaris9b-no-hri.yaml") and entries[2]["value"] == "false"
    assert main(["show", recipe, "--set", "grpo.lr=2e-6", "--explain", "grpo.lr", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[-1]["kind"] == "set"


def test_show_resolved_has_defaults(capsys):
    assert main(["show", str(ROOT / "recipes" / "demo.yaml"), "--resolved", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["grpo"]["train_batch_size"] == 8 and data["reward"]["clip"] == 2.0


def test_diff_shows_only_hri_switch(capsys):
    a, b = (str(ROOT / "recipes" / n) for n in ("polaris9b.yaml", "polaris9b-no-hri.yaml"))
    assert main(["diff", a, b, "--json"]) == 0
    paths = {row["path"] for row in json.loads(capsys.readouterr().out)}
    assert paths == {"name", "description", "reference_injection.enabled"}


def test_committed_schema_is_fresh(tmp_path):
    out = tmp_path / "schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    committed = (ROOT / "schemas" / "recipe.schema.json").read_text()
    assert out.read_text() == committed, "schemas/recipe.schema.json is stale: run `polaris schema -o schemas/recipe.schema.json`"


def test_bad_set_is_exit_3(capsys):
    assert main(["validate", str(ROOT / "recipes" / "demo.yaml"), "--set", "grpo.lr", "--json"]) == 3
    [problem] = json.loads(capsys.readouterr().out)
    assert problem["file"] == "<--set>"


def test_validate_imports_nothing_heavy():
    code = (
        "import sys; from polaris.cli.main import main;"
        f"rc = main(['validate', {str(ROOT / 'recipes' / 'polaris9b.yaml')!r}]);"
        f"print(rc, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"


def test_version_and_help_are_fast_paths(capsys):
    assert main(["--version"]) == 0
    assert "0.11.2" in capsys.readouterr().out
    assert main(["--help"]) == 0
    assert "validate" in capsys.readouterr().out


def test_a_key_pasted_into_api_key_env_is_not_echoed(capsys):
    secret = "sk-proj-abcdefghijk1234567"
    rc = main(["validate", str(ROOT / "recipes" / "demo.yaml"), "--set", f"judge.backend.api_key_env={secret}", "--json"])
    assert rc == 3
    out = capsys.readouterr()
    [problem] = json.loads(out.out)
    assert problem["path"] == "judge.backend.api_key_env" and "looks like a secret" in problem["message"]
    assert secret not in out.out + out.err


@pytest.mark.parametrize(
    "override",
    [
        "judge.backend.api_key_env=GEMINI_API_KEY=AIzaSyA1234567890abcdefgh",
        "judge.backend.base_url=https://x.example/v1?key=AIzaSyA1234567890abcdefgh",
        "description=my key is sk-proj-abcdefghijklmnop",
    ],
)
def test_keys_pasted_anywhere_are_refused_and_never_echoed(override, capsys):
    secret = override.split("=", 1)[1].split("=")[-1].split(" ")[-1]
    rc = main(["validate", str(ROOT / "recipes" / "demo.yaml"), "--set", override, "--json"])
    out = capsys.readouterr()
    assert rc == 3
    assert secret not in out.out + out.err
    [problem] = json.loads(out.out)
    assert "secret" in problem["message"] or "API key" in problem["message"]


def test_a_hub_commit_sha_is_not_mistaken_for_a_key(capsys):
    rc = main(["validate", str(ROOT / "recipes" / "polaris9b.yaml"),
               "--set", "data.train.hub.revision=3c3be6236b7f0a8e7c5d1e2f3a4b5c6d7e8f9a0b"])
    assert rc == 0, capsys.readouterr().err


@pytest.mark.parametrize(
    "override, path",
    [
        ("grpo.is_correction=token", "grpo.is_correction"),
        ("cluster.packing=true", "cluster.packing"),
        ("grpo.micro_batch_size=5", "grpo.micro_batch_size"),
    ],
)
def test_cross_field_error_points_at_the_set_that_broke_it(override, path, capsys):
    assert main(["validate", str(ROOT / "recipes" / "polaris9b.yaml"), "--set", override, "--json"]) == 3
    [problem] = json.loads(capsys.readouterr().out)
    assert problem["file"] == "<--set>" and problem["path"] == path and problem["line"] == 1
