"""Train-time checks: each fires on a bad layout and stays quiet on the good one.

The args come from the real validator (so they have exactly the shape OpenRLHF's block produces).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from polaris.engine.openrlhf import check_train_time, is_qwen35, validate_argv

sys.path.insert(0, str(Path(__file__).parent))
from grpo_argv import grpo_argv  # noqa: E402

QWEN = "Qwen/Qwen3.5-9B"


def _args(**overrides):
    r = validate_argv(grpo_argv(**overrides))
    assert r.ok, r.error
    return r.args


def _codes(args, *, reward_range=(-3.0, 3.0), prompt_tokens=256, model_id=QWEN, **kw):
    probs = check_train_time(args, reward_range=reward_range, prompt_tokens=prompt_tokens, model_id=model_id, **kw)
    return {p.code: p for p in probs}


def test_good_layout_has_no_problems():
    assert _codes(_args(), reference_tokens=6000) == {}


def test_colocate_gpu_count():
    p = _codes(_args(vllm__num_engines=2))["colocate_gpu_count"]
    assert p.severity == "error" and "--vllm.num_engines" in p.flags and "4" in p.hint
    # TP 2 × 2 engines = 4 GPUs is fine
    assert "colocate_gpu_count" not in _codes(_args(vllm__num_engines=2, vllm__tensor_parallel_size=2))
    # async mode does not colocate vLLM, OpenRLHF skips the check there
    args = _args(vllm__num_engines=2, vllm__enable_sleep=None, train__async_enable=True)
    assert "colocate_gpu_count" not in _codes(args)


def test_ref_topology_only_with_kl():
    assert "ref_topology" not in _codes(_args(ref__num_gpus_per_node=8))  # KL 0: no ref model
    p = _codes(_args(algo__kl__init_coef=0.001, ref__num_gpus_per_node=8))["ref_topology"]
    assert "--ref.num_gpus_per_node" in p.flags
    assert "ref_topology" not in _codes(_args(algo__kl__init_coef=0.001))


def test_deepspeed_batch_divisibility():
    p = _codes(_args(train__batch_size=190))["ds_batch_divisibility"]
    assert p.flags == ["--train.batch_size", "--train.micro_batch_size"] and p.details["dp"] == 4
    assert "188" in p.hint
    assert "ds_batch_divisibility" in _codes(_args(train__batch_size=2))  # < micro × DP
    # DP shrinks with ring attention: 4 GPUs / ring 2 = DP 2, so 2 is now a valid global batch
    codes = _codes(_args(train__batch_size=2, ds__ring_attn_size=2, rollout__batch_size=32), model_id="llama")
    assert "ds_batch_divisibility" not in codes


def test_rollout_shards_must_split_evenly():
    p = _codes(_args(rollout__batch_size=31))["rollout_shards_unequal"]  # 186 samples over 4 ranks
    assert p.severity == "error" and "--rollout.micro_batch_size" in p.flags
    # 64 samples in micro-batches of 8 = 8 chunks over 4 ranks: fine
    args = _args(rollout__batch_size=16, rollout__n_samples_per_prompt=4, rollout__micro_batch_size=8, train__batch_size=64)
    assert _codes(args) == {}
    # 96 samples in micro-batches of 16 = 6 chunks over 4 ranks: shares 2, 2, 2, 0
    args = _args(rollout__batch_size=16, rollout__n_samples_per_prompt=6, rollout__micro_batch_size=16, train__batch_size=96)
    assert "rollout_shards_unequal" in _codes(args)


def test_rollout_to_train_ratio_is_a_warning():
    p = _codes(_args(train__batch_size=128))["rollout_train_ratio"]
    assert p.severity == "warning" and "spills" in p.message
    p = _codes(_args(train__batch_size=384))["rollout_train_ratio"]
    assert "spans several rollouts" in p.message
    assert "rollout_train_ratio" not in _codes(_args(train__batch_size=64))  # 3 steps per rollout


def test_dynamic_batch_skips_batch_arithmetic():
    codes = _codes(_args(train__batch_size=190, train__dynamic_batch_enable=True), model_id="meta-llama/Llama-3-8B")
    assert "ds_batch_divisibility" not in codes


def test_length_budget():
    p = _codes(_args(data__max_len=8000))["length_budget"]
    assert p.flags == ["--data.max_len", "--rollout.max_new_tokens"] and "8448" in p.hint
    assert "length_budget" in _codes(_args(data__max_len=8000), prompt_tokens=None)  # even an empty prompt
    assert "length_budget" in _codes(_args(data__max_len=8448), prompt_tokens=300)
    # max_new_tokens unset: only a prompt that fills max_len is a problem
    assert "length_budget" not in _codes(_args(rollout__max_new_tokens=None), prompt_tokens=300)
    assert "length_budget" in _codes(_args(rollout__max_new_tokens=None), prompt_tokens=8448)


def test_reference_length():
    assert "reference_too_long" in _codes(_args(), reference_tokens=8192)
    assert "reference_too_long" not in _codes(_args(), reference_tokens=8191)


def test_reward_range_inside_clip_range():
    p = _codes(_args(), reward_range=(0.0, 100.0))["reward_clipped"]
    assert p.flags == ["--reward.clip_range"] and "-3" in p.hint and "100" in p.hint
    assert "reward_clipped" not in _codes(_args(), reward_range=(-3.0, 3.0))
    assert "reward_clipped" not in _codes(_args(), reward_range=None)
    assert "reward_clipped" in _codes(_args(reward__clip_range=None), reward_range=(-11.0, 1.0))  # default ±10


@pytest.mark.parametrize("override,cause", [
    ({"ds__packing_samples": True}, "--ds.packing_samples"),
    ({"train__dynamic_batch_enable": True}, "--train.dynamic_batch_enable"),
    ({"ds__ring_attn_size": 2}, "--ds.ring_attn_size"),
])
def test_no_packing_with_qwen35(override, cause):
    p = _codes(_args(**override))["qwen35_packing"]
    assert cause in p.flags and p.severity == "error"
    assert "qwen35_packing" not in _codes(_args(**override), model_id="meta-llama/Llama-3.1-8B")


def test_is_qwen35_matching():
    assert is_qwen35("Qwen/Qwen3.5-9B") and is_qwen35("/models/QWEN3_5-9b-instruct") and is_qwen35("qwen3-5-4b")
    assert not is_qwen35("Qwen/Qwen3-8B") and not is_qwen35("Qwen/Qwen2.5-7B") and not is_qwen35("")


def test_packing_needs_vllm():
    args = _args()
    args.ds.packing_samples = True  # the block asserts this, so build the case by hand
    args.vllm.num_engines = 0
    assert "packing_needs_vllm" in _codes(args, model_id="llama")


def test_parallel_layout():
    p = _codes(_args(ds__ring_attn_size=3), model_id="llama")["parallel_layout"]
    assert "--ds.ring_attn_size" in p.flags


def test_resource_warnings():
    p = _codes(_args(vllm__gpu_memory_utilization=0.95))["colocate_vllm_share"]
    assert p.severity == "warning"
    p = _codes(_args(ds__adam_offload=True))["sleep_with_adam_offload"]
    assert set(p.flags) == {"--ds.enable_sleep", "--ds.adam_offload"}


def test_errors_sort_before_warnings():
    probs = check_train_time(_args(train__batch_size=128, data__max_len=8000), reward_range=None,
                             prompt_tokens=256, model_id=QWEN)
    sev = [p.severity for p in probs]
    assert sev == sorted(sev, key=lambda s: s != "error") and "warning" in sev and "error" in sev


def test_partial_namespace_names_the_missing_field():
    from types import SimpleNamespace

    with pytest.raises(KeyError, match="actor.num_nodes"):
        check_train_time(SimpleNamespace(), reward_range=None, prompt_tokens=None, model_id=QWEN)
