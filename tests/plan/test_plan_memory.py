"""GPU memory planner: the POLARIS layout targets, monotonicity, suggestions, host RAM, rendering."""

from __future__ import annotations

import json

import pytest

from polaris.plan import GPU_TYPES, KNOWN_MODELS, ModelShape, PlanInput, model_shape, plan_memory, render_plan

GIB = float(1 << 30)


def polaris_layout(**changes) -> PlanInput:
    """Qwen3.5-9B, 4×A100, ZeRO-3, grad ckpt, colocate_all, 4 engines TP1 @0.6, both sleeps, no KL."""
    base = PlanInput.for_model(
        "Qwen/Qwen3.5-9B", nodes=1, gpus_per_node=4, zero_stage=3, gradient_checkpointing=True,
        colocate_all=True, vllm_engines=4, vllm_tp=1, vllm_gpu_memory_utilization=0.6,
        ds_enable_sleep=True, vllm_enable_sleep=True, ref_model=False, micro_batch=1,
        prompt_tokens=256, max_new_tokens=8192,
    )
    return base.with_(**changes)


def comp(report, gpu, phase, name):
    plan = report.per_gpu_type[gpu]
    return next(p for p in plan.phases if p.name == phase).components[name]


def test_polaris_layout_fits_80g_not_40g():
    r = plan_memory(polaris_layout())
    assert set(r.per_gpu_type) == set(GPU_TYPES) == {"a100-40g", "a100-80g", "h100-80g"}
    assert r.per_gpu_type["a100-80g"].fits and r.per_gpu_type["h100-80g"].fits
    assert r.per_gpu_type["a100-40g"].verdict == "does_not_fit"
    # openrlhf.md §7: training state ≈ 9.3e9 × 16 B / 4 GPUs ≈ 37 GB
    state = sum(comp(r, "a100-80g", "training", c) for c in ("weights", "gradients", "optimizer"))
    assert state == pytest.approx(9.3e9 * 16 / 4 / GIB)
    # fp32 logits calibration: ~7K tokens × 248K vocab × 4 B ≈ 7 GB; training budget 15-20 GB
    seven_k = plan_memory(polaris_layout(prompt_tokens=0, max_new_tokens=7000))
    assert 15e9 / GIB <= comp(seven_k, "a100-80g", "training", "logits") <= 20e9 / GIB
    assert r.per_gpu_type["a100-80g"].peak_phase == "training"
    assert 55 <= r.per_gpu_type["a100-80g"].peak_gib <= 72


def test_two_nodes_of_eight_plans():
    inp = polaris_layout(nodes=2, gpus_per_node=8, vllm_engines=16)
    r = plan_memory(inp)
    assert r.per_gpu_type["a100-80g"].fits
    d = json.loads(json.dumps(r.to_dict()))
    assert d["unit"] == "GiB" and d["input"]["actor_gpus"] == 16
    assert {p["name"] for p in d["per_gpu_type"]["h100-80g"]["phases"]} == {"generation", "training"}


def test_more_gpus_means_less_sharded_state_per_gpu():
    opt = [comp(plan_memory(polaris_layout(gpus_per_node=g, vllm_engines=g)), "a100-80g", "training", "optimizer")
           for g in (2, 4, 8)]
    assert opt[0] > opt[1] > opt[2]
    assert opt[0] == pytest.approx(2 * opt[1])


def test_longer_sequences_need_more_logits_and_activations():
    a, b = plan_memory(polaris_layout(max_new_tokens=4096)), plan_memory(polaris_layout(max_new_tokens=8192))
    for name in ("logits", "activations"):
        assert comp(b, "a100-80g", "training", name) > comp(a, "a100-80g", "training", name)
    assert b.per_gpu_type["a100-80g"].peak_gib > a.per_gpu_type["a100-80g"].peak_gib


def test_checkpointing_and_zero_stage_change_the_right_terms():
    on = plan_memory(polaris_layout())
    off = plan_memory(polaris_layout(gradient_checkpointing=False))
    assert comp(off, "a100-80g", "training", "activations") > 3 * comp(on, "a100-80g", "training", "activations")
    z2 = plan_memory(polaris_layout(zero_stage=2))
    assert comp(z2, "a100-80g", "training", "weights") == pytest.approx(9.3e9 * 2 / GIB)  # full copy
    assert comp(z2, "a100-80g", "training", "optimizer") == comp(on, "a100-80g", "training", "optimizer")


def test_sleep_modes_define_the_phases():
    r = plan_memory(polaris_layout(vllm_enable_sleep=False))
    assert comp(r, "a100-80g", "training", "vllm") == pytest.approx(0.6 * 80)
    assert not r.per_gpu_type["a100-80g"].fits
    r = plan_memory(polaris_layout(ds_enable_sleep=False))
    gen = comp(r, "a100-80g", "generation", "deepspeed_resident")
    assert gen == pytest.approx(9.3e9 * 16 / 4 / GIB)  # the whole training state stays
    r = plan_memory(polaris_layout(colocate_all=False))
    names = [p.name for p in r.per_gpu_type["a100-80g"].phases]
    assert names == ["generation (vLLM GPUs)", "training"]
    assert comp(r, "a100-80g", "training", "vllm") == 0


def test_suggestions_when_it_does_not_fit():
    plan = plan_memory(polaris_layout(vllm_enable_sleep=False, ref_model=True)).per_gpu_type["a100-80g"]
    assert plan.verdict == "does_not_fit" and plan.suggestions
    knobs = [s.knob for s in plan.suggestions]
    order = ["gradient_checkpointing", "vllm_gpu_memory_utilization", "ds_enable_sleep", "vllm_enable_sleep",
             "ref_offload", "kl_off", "zero_stage", "adam_offload", "more_gpus", "max_new_tokens"]
    assert knobs == sorted(knobs, key=order.index)
    by = {s.knob: s for s in plan.suggestions}
    assert by["vllm_enable_sleep"].fixes and by["vllm_enable_sleep"].saving_gib > 40
    assert by["ref_offload"].saving_gib == pytest.approx(9.3e9 * 2 / 4 / GIB, rel=1e-6)
    # 2×8 on 40 GB: Adam offload alone is enough
    plan40 = plan_memory(polaris_layout(nodes=2, gpus_per_node=8, vllm_engines=16)).per_gpu_type["a100-40g"]
    assert not plan40.fits
    assert {s.knob: s for s in plan40.suggestions}["adam_offload"].fixes
    # a plan that fits gets no suggestions
    assert plan_memory(polaris_layout()).per_gpu_type["a100-80g"].suggestions == []


def test_lower_utilization_suggested_when_generation_is_the_peak():
    inp = polaris_layout(vllm_gpu_memory_utilization=0.95, ds_enable_sleep=False)
    plan = plan_memory(inp).per_gpu_type["a100-80g"]
    assert plan.peak_phase == "generation" and not plan.fits
    util = next(s for s in plan.suggestions if s.knob == "vllm_gpu_memory_utilization")
    assert util.saving_gib > 0 and "--vllm.gpu_memory_utilization 0." in util.change


def test_vllm_share_too_small_for_weights_is_a_problem():
    plan = plan_memory(polaris_layout(vllm_gpu_memory_utilization=0.3)).per_gpu_type["a100-40g"]
    assert plan.verdict == "does_not_fit" and any("cannot hold the weights" in p for p in plan.problems)
    kv = plan_memory(polaris_layout()).per_gpu_type["a100-80g"].kv_tokens_per_engine
    assert 500_000 < kv < 1_500_000  # openrlhf.md §7: ≈0.75M tokens at 0.6 on 80 GB


def test_host_ram():
    h = plan_memory(polaris_layout()).host
    # openrlhf.md §7: ≈4 × 19 GB vLLM weights + ≈4 × 30 GB DeepSpeed states ≈ 200 GB pinned
    assert h.components["vllm_sleep_weights"] == pytest.approx(4 * 9.3e9 * 2 / GIB)
    assert 150 < h.pinned_gib < 250 and h.recommended_gib > h.pinned_gib
    none = plan_memory(polaris_layout(ds_enable_sleep=False, vllm_enable_sleep=False)).host
    assert none.pinned_gib == 0
    off = plan_memory(polaris_layout(adam_offload=True)).host
    assert "adam_offload" in off.components and "deepspeed_sleep_states" not in off.components


def test_model_table_and_fallback():
    assert model_shape("Qwen/Qwen3.5-9B") is KNOWN_MODELS["qwen/qwen3.5-9b"]
    assert model_shape("/data/models/qwen3.5-9b/") is KNOWN_MODELS["qwen/qwen3.5-9b"]
    with pytest.raises(ValueError, match="params_b"):
        model_shape("acme/mystery-13b")
    est = model_shape("acme/mystery-7b", params_b=7.0)
    assert est.approximate and est.hidden == 4096 and est.layers == 32
    r = plan_memory(PlanInput(model=ModelShape.from_params(7.0)))
    assert "estimated" in render_plan(r)


def test_input_validation():
    with pytest.raises(ValueError, match="nodes"):
        polaris_layout(nodes=0)
    with pytest.raises(ValueError, match="vllm_gpu_memory_utilization"):
        polaris_layout(vllm_gpu_memory_utilization=1.5)


def test_render():
    text = render_plan(plan_memory(polaris_layout()))
    for needle in ("a100-40g", "a100-80g", "h100-80g", "generation", "training", "logits", "verdict",
                   "does_not_fit", "host RAM", "try, in order"):
        assert needle in text, needle
