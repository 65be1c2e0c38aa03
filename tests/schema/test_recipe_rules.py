"""Cross-field rules of the recipe: each failure names both fields involved."""

from __future__ import annotations

import copy
import sys
import subprocess

import pytest
from pydantic import ValidationError

from polaris.schema import Recipe, looks_like_secret

BASE = {
    "name": "t",
    "model": {"policy": "Qwen/Qwen3.5-9B"},
    "data": {
        "train": {"path": "train.jsonl"},
        "references": {"path": "refs.jsonl", "reasoning_field": "reasoning"},
    },
    "rubric": {"builtin": "polaris-story-quality"},
    "judge": {"backend": {"base_url": "http://127.0.0.1:8000/v1", "model": "judge"}},
}


def build(**patch):
    doc = copy.deepcopy(BASE)
    for dotted, value in patch.items():
        node = doc
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return Recipe.model_validate(doc)


def error_text(**patch) -> str:
    with pytest.raises(ValidationError) as info:
        build(**patch)
    return str(info.value)


def test_base_is_valid_and_derives_batch_and_length():
    r = build()
    assert r.grpo.train_batch_size == r.grpo.prompts_per_step * r.grpo.samples_per_prompt
    assert r.grpo.max_len == r.grpo.max_prompt_tokens + r.grpo.max_new_tokens
    assert r.cluster.vllm.engines == 4


def test_explicit_values_are_not_rewritten():
    r = build(grpo__train_batch_size=24, grpo__max_len=9000)
    assert r.grpo.train_batch_size == 24 and r.grpo.max_len == 9000


def test_group_estimator_needs_more_than_one_sample():
    msg = error_text(grpo__samples_per_prompt=1, reference_injection__enabled=False)
    assert "grpo.samples_per_prompt must be > 1" in msg


def test_reference_slot_needs_two_policy_rows_for_std():
    msg = error_text(grpo__samples_per_prompt=2, grpo__prompts_per_step=2)
    assert "reference_injection.statistics" in msg and "grpo.samples_per_prompt" in msg


def test_hri_with_is_correction_needs_raw_sampling():
    msg = error_text(grpo__is_correction="token")
    assert "reference_injection.enabled" in msg and "grpo.is_correction" in msg and "prompt_logprobs" in msg
    raw = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0}
    assert build(grpo__is_correction="token", grpo__sampling=raw).grpo.is_correction == "token"


def test_hri_needs_references():
    doc = copy.deepcopy(BASE)
    del doc["data"]["references"]
    with pytest.raises(ValidationError) as info:
        Recipe.model_validate(doc)
    assert "data.references" in str(info.value)


def test_thinking_needs_reasoning_trace_unless_waived():
    doc = copy.deepcopy(BASE)
    doc["data"]["references"].pop("reasoning_field")
    with pytest.raises(ValidationError) as info:
        Recipe.model_validate(doc)
    assert "reasoning_field" in str(info.value)
    doc["reference_injection"] = {"require_reasoning_trace": False}
    assert Recipe.model_validate(doc).reference_injection.require_reasoning_trace is False


def test_batch_divisibility_names_both_fields():
    msg = error_text(grpo__train_batch_size=6, grpo__samples_per_prompt=6, grpo__prompts_per_step=8)
    assert "grpo.train_batch_size" in msg and "cluster GPUs" in msg


def test_train_batch_must_divide_rollout_rows():
    msg = error_text(grpo__train_batch_size=32)
    assert "grpo.prompts_per_step x grpo.samples_per_prompt = 48" in msg


def test_max_len_below_prompt_plus_response():
    msg = error_text(grpo__max_len=4000)
    assert "grpo.max_len (4000)" in msg


def test_thinking_cap_inside_budget():
    msg = error_text(model__thinking_token_cap=9000)
    assert "model.thinking_token_cap" in msg and "grpo.max_new_tokens" in msg


def test_colocation_gpu_equality():
    msg = error_text(cluster__vllm={"engines": 2})
    assert "cluster.vllm.engines" in msg and "cluster.gpus_per_node" in msg


def test_packing_refused_for_qwen35():
    msg = error_text(cluster__packing=True)
    assert "cluster.packing" in msg and "model.policy" in msg


def test_unknown_key_is_rejected():
    msg = error_text(grpo__learning_rate=1e-5)
    assert "learning_rate" in msg and "Extra inputs are not permitted" in msg


@pytest.mark.parametrize("value", ["sk-proj-abcdefghijklmnop1234", "AIzaSyA1234567890abcdefghijkl", "0123456789abcdef0123456789abcdef"])
def test_key_values_are_refused_where_a_name_belongs(value):
    assert looks_like_secret(value)
    msg = error_text(judge={"backend": {"base_url": "http://x/v1", "model": "m", "api_key_env": value}})
    assert "looks like a secret" in msg
    assert value not in msg or "input_value" in msg  # pydantic echoes input; the loader redacts it


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "GEMINI_API_KEY", "MY_JUDGE_TOKEN_2"])
def test_env_names_are_accepted(name):
    assert not looks_like_secret(name)
    build(judge={"backend": {"base_url": "http://x/v1", "model": "m", "api_key_env": name}})


def test_schema_import_is_light():
    code = (
        "import sys, polaris.schema, polaris.cli.main;"
        "heavy=[m for m in ('torch','ray','vllm','openrlhf','transformers','deepspeed','aiohttp','openai') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_std_off_with_group_norm_needs_reference_injection():
    # OpenRLHF's group_norm ignores --algo.advantage.no_std_norm: without the hook's HRI path the
    # setting would silently do nothing
    msg = error_text(grpo__normalize_by_std=False, reference_injection__enabled=False)
    assert "grpo.normalize_by_std" in msg and "dr_grpo" in msg
    assert build(grpo__normalize_by_std=False, reference_injection__enabled=False, grpo__estimator="dr_grpo")
    assert build(grpo__normalize_by_std=False)  # with reference injection the hook honours it
