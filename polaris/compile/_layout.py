"""Recipe -> memory-plan input (shared by `polaris plan` and the compiler)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["plan_input", "guess_params_b", "recipe_change"]

_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])")


def guess_params_b(model_id: str) -> float | None:
    """Billions of parameters from a model id such as 'Qwen/Qwen3-0.6B' (the last size in the name)."""
    found = _SIZE.findall(model_id.rsplit("/", 1)[-1])
    return float(found[-1]) if found else None


def plan_input(recipe: Any) -> Any:
    """The planner's `PlanInput` for the recipe's layout (raises ValueError for an unknown model size)."""
    from polaris.plan import PlanInput

    c, g, m = recipe.cluster, recipe.grpo, recipe.model
    return PlanInput.for_model(
        m.policy,
        params_b=m.params_b if m.params_b is not None else guess_params_b(m.policy),
        nodes=c.nodes,
        gpus_per_node=c.gpus_per_node,
        zero_stage=c.zero_stage,
        adam_offload=c.adam_offload,
        gradient_checkpointing=c.gradient_checkpointing,
        colocate_all=c.colocate == "all",
        vllm_engines=c.vllm.engines,
        vllm_tp=c.vllm.tensor_parallel_size,
        vllm_gpu_memory_utilization=c.vllm.gpu_memory_utilization,
        vllm_enforce_eager=c.vllm.enforce_eager,
        ds_enable_sleep=c.deepspeed_sleep,
        vllm_enable_sleep=c.vllm.enable_sleep,
        ref_model=g.kl.coef > 0,
        ref_offload=c.ref_offload,
        micro_batch=g.micro_batch_size,
        prompt_tokens=g.max_prompt_tokens,
        max_new_tokens=g.max_new_tokens,
        param_dtype=m.dtype,
    )


# The planner speaks OpenRLHF; users edit recipes. Each planner knob -> the recipe field to change.
_KNOB_FIELDS = {
    "gradient_checkpointing": ("cluster.gradient_checkpointing", "true"),
    "vllm_gpu_memory_utilization": ("cluster.vllm.gpu_memory_utilization", None),
    "ds_enable_sleep": ("cluster.deepspeed_sleep", "true"),
    "vllm_enable_sleep": ("cluster.vllm.enable_sleep", "true"),
    "ref_offload": ("cluster.ref_offload", "true"),
    "kl_off": ("grpo.kl.coef", "0"),
    "zero_stage": ("cluster.zero_stage", "3"),
    "adam_offload": ("cluster.adam_offload", "true"),
    "max_new_tokens": ("grpo.max_new_tokens", None),
}


def recipe_change(knob: str, change: str) -> str:
    """A planner suggestion as a recipe edit, e.g. 'cluster.vllm.gpu_memory_utilization: 0.45'."""
    field, value = _KNOB_FIELDS.get(knob, (None, None))
    if field is None:  # more GPUs: the planner's text names the layout in OpenRLHF flags
        out = change
        for flag, name in (("--actor.num_nodes ", "cluster.nodes: "), ("--actor.num_gpus_per_node ", "cluster.gpus_per_node: "),
                           (" --vllm.num_engines ", ", cluster.vllm.engines: ")):
            out = out.replace(flag, name)
        return out
    if value is None:
        value = change.split()[-1]
    return f"{field}: {value}"
