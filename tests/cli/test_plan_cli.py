"""`polaris plan` as a user runs it: the table, the JSON, the suggestions as recipe changes."""

from __future__ import annotations

import json
from pathlib import Path

from polaris.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
RECIPE = str(ROOT / "recipes" / "polaris9b.yaml")


def test_plan_table_gives_a_verdict_per_gpu_and_recipe_changes(capsys):
    assert main(["plan", RECIPE]) == 0
    out = capsys.readouterr().out
    assert out.startswith("recipe gpu_type: a100-80g")
    verdicts = next(line for line in out.splitlines() if line.startswith("verdict")).split()[1:]
    assert verdicts == ["does_not_fit", "fits", "fits"]  # a100-40g, a100-80g, h100-80g
    assert "cluster.adam_offload: true" in out  # the knob, said as a recipe field


def test_plan_json_matches_and_follows_set(capsys):
    assert main(["plan", RECIPE, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    per = data["per_gpu_type"]
    assert data["gpu_type"] == "a100-80g" and set(per) == {"a100-40g", "a100-80g", "h100-80g"}
    assert per["a100-80g"]["verdict"] == "fits" and per["a100-40g"]["verdict"] == "does_not_fit"
    assert per["a100-80g"]["peak_gib"] == per["a100-40g"]["peak_gib"]  # same layout, other capacity
    assert all("recipe_change" in s for s in per["a100-40g"]["suggestions"])
    assert main(["plan", RECIPE, "--json", "--set", "cluster.adam_offload=true"]) == 0
    offloaded = json.loads(capsys.readouterr().out)["per_gpu_type"]["a100-40g"]
    assert offloaded["peak_gib"] < per["a100-40g"]["peak_gib"]


def test_plan_bad_recipe_is_exit_3(capsys):
    assert main(["plan", RECIPE, "--set", "cluster.gpus_per_node=zero"]) == 3
    assert "cluster.gpus_per_node" in capsys.readouterr().err
