"""GPU memory planner for OpenRLHF GRPO jobs (pure arithmetic, standard library only).

    from polaris.plan import PlanInput, plan_memory, render_plan
    report = plan_memory(PlanInput.for_model("Qwen/Qwen3.5-9B", nodes=1, gpus_per_node=4))
    print(render_plan(report)); report.per_gpu_type["a100-80g"].verdict  # "fits"

Estimates, not measurements: see `_memory` for every byte count and its source.
"""

from ._input import KNOWN_MODELS, ModelShape, PlanInput, model_shape
from ._memory import GPU_TYPES, GpuPlan, HostPlan, Phase, Suggestion
from ._report import PlanReport, plan_memory, render_plan

__all__ = [
    "GPU_TYPES",
    "KNOWN_MODELS",
    "GpuPlan",
    "HostPlan",
    "ModelShape",
    "Phase",
    "PlanInput",
    "PlanReport",
    "Suggestion",
    "model_shape",
    "plan_memory",
    "render_plan",
]
