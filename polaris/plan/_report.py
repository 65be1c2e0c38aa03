"""`plan_memory`: verdicts per GPU type, what-if suggestions, and a plain-text rendering."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ._input import PlanInput
from ._memory import GPU_TYPES, TIGHT_FRACTION, VLLM_OVERHEAD_GIB, GpuPlan, HostPlan, Suggestion, _kv, host_ram, phases_for


@dataclass
class PlanReport:
    """Plans for every known GPU type plus the host-RAM estimate."""

    input: PlanInput
    per_gpu_type: dict[str, GpuPlan]
    host: HostPlan

    def to_dict(self) -> dict:
        """JSON-able dict (GiB values rounded to 0.01)."""

        def rnd(x: object) -> object:
            if isinstance(x, float):
                return round(x, 2)
            if isinstance(x, dict):
                return {k: rnd(v) for k, v in x.items()}
            if isinstance(x, list):
                return [rnd(v) for v in x]
            return x

        gpus = {}
        for name, gp in self.per_gpu_type.items():
            d = asdict(gp)
            for ph, src in zip(d["phases"], gp.phases):
                ph["total"] = src.total
            d["fits"] = gp.fits
            gpus[name] = d
        inp = asdict(self.input)
        inp.update(actor_gpus=self.input.actor_gpus, vllm_engines_effective=self.input.engines, seq_len=self.input.seq_len)
        return rnd({"unit": "GiB", "input": inp, "per_gpu_type": gpus, "host": asdict(self.host)})


def _evaluate(inp: PlanInput, gpu_type: str, capacity: float) -> GpuPlan:
    phases = phases_for(inp, capacity)
    peak = max(phases, key=lambda p: p.total)
    kv_gib, kv_tokens = _kv(inp, capacity)
    problems: list[str] = []
    if inp.engines > 0:
        weights = inp.params * 2 / inp.vllm_tp / (1 << 30)
        share = inp.vllm_gpu_memory_utilization * capacity
        if weights + VLLM_OVERHEAD_GIB >= share:
            problems.append(
                f"vLLM's share ({share:.1f} GiB) cannot hold the weights ({weights:.1f} GiB per TP rank) "
                f"plus ~{VLLM_OVERHEAD_GIB:g} GiB overhead"
            )
        elif kv_tokens < inp.seq_len:
            problems.append(
                f"vLLM's KV cache ({kv_tokens} tokens) cannot hold one {inp.seq_len}-token sequence; "
                "vLLM refuses to start with this max_model_len"
            )
    headroom = capacity - peak.total
    if peak.total > capacity or problems:
        verdict = "does_not_fit"
    elif headroom < TIGHT_FRACTION * capacity:
        verdict = "tight"
    else:
        verdict = "fits"
    return GpuPlan(
        gpu_type=gpu_type,
        capacity_gib=capacity,
        phases=phases,
        verdict=verdict,
        peak_gib=peak.total,
        peak_phase=peak.name,
        headroom_gib=headroom,
        kv_cache_gib=max(kv_gib, 0.0) if inp.engines > 0 else 0.0,
        kv_tokens_per_engine=kv_tokens if inp.engines > 0 else 0,
        problems=problems,
    )


def _more_gpus(inp: PlanInput) -> tuple[PlanInput, str]:
    if inp.nodes > 1 or inp.gpus_per_node >= 8:
        new = inp.with_(nodes=inp.nodes * 2)
        change = f"--actor.num_nodes {new.nodes}"
    else:
        new = inp.with_(gpus_per_node=min(inp.gpus_per_node * 2, 8))
        change = f"--actor.num_gpus_per_node {new.gpus_per_node}"
    if inp.vllm_engines is not None and inp.colocate_all:
        new = new.with_(vllm_engines=new.actor_gpus // inp.vllm_tp)
        change += f" --vllm.num_engines {new.vllm_engines}"
    return new, change + f" ({new.actor_gpus} GPUs)"


def _search(inp: PlanInput, gpu_type: str, capacity: float, field: str, values: list) -> PlanInput | None:
    for v in values:  # highest first: the mildest change that fits
        cand = inp.with_(**{field: v})
        if _evaluate(cand, gpu_type, capacity).fits:
            return cand
    return None


def _candidates(inp: PlanInput, gpu_type: str, capacity: float) -> list[tuple[str, str, PlanInput]]:
    out: list[tuple[str, str, PlanInput]] = []
    if not inp.gradient_checkpointing:
        out.append(("gradient_checkpointing", "--actor.gradient_checkpointing_enable", inp.with_(gradient_checkpointing=True)))
    colocated = inp.colocate_all and inp.engines > 0
    if colocated:
        cur = inp.vllm_gpu_memory_utilization
        steps = [round(cur - 0.05 * k, 2) for k in range(1, 20) if cur - 0.05 * k >= 0.2]
        cand = _search(inp, gpu_type, capacity, "vllm_gpu_memory_utilization", steps)
        if cand is None and steps:
            cand = inp.with_(vllm_gpu_memory_utilization=steps[min(1, len(steps) - 1)])
        if cand is not None:
            out.append(("vllm_gpu_memory_utilization", f"--vllm.gpu_memory_utilization {cand.vllm_gpu_memory_utilization:.2f}", cand))
        if not inp.ds_enable_sleep:
            out.append(("ds_enable_sleep", "--ds.enable_sleep", inp.with_(ds_enable_sleep=True)))
        if not inp.vllm_enable_sleep:
            out.append(("vllm_enable_sleep", "--vllm.enable_sleep", inp.with_(vllm_enable_sleep=True)))
    if inp.ref_model and not inp.ref_offload:
        out.append(("ref_offload", "--ref.offload", inp.with_(ref_offload=True)))
    if inp.ref_model:
        out.append(("kl_off", "--algo.kl.init_coef 0 (no reference model)", inp.with_(ref_model=False)))
    if inp.zero_stage < 3:
        out.append(("zero_stage", "--ds.zero_stage 3", inp.with_(zero_stage=3)))
    if not inp.adam_offload:
        out.append(("adam_offload", "--ds.adam_offload (Adam on the CPU: slow, needs host RAM)", inp.with_(adam_offload=True)))
    more, change = _more_gpus(inp)
    out.append(("more_gpus", change, more))
    step = max(512, inp.max_new_tokens // 64)  # at most ~64 candidates, whatever the budget
    lengths = list(range(inp.max_new_tokens - step, 511, -step))
    cand = _search(inp, gpu_type, capacity, "max_new_tokens", lengths)
    if cand is not None:
        out.append(("max_new_tokens", f"--rollout.max_new_tokens {cand.max_new_tokens}", cand))
    return out


def _plan_gpu(inp: PlanInput, gpu_type: str, capacity: float) -> GpuPlan:
    plan = _evaluate(inp, gpu_type, capacity)
    if plan.fits:
        return plan
    for knob, change, cand in _candidates(inp, gpu_type, capacity):
        new = _evaluate(cand, gpu_type, capacity)
        saving = plan.peak_gib - new.peak_gib
        fixes_problem = bool(plan.problems) and not new.problems
        if saving > 0.01 or new.fits or fixes_problem:
            plan.suggestions.append(Suggestion(knob=knob, change=change, saving_gib=saving, fixes=new.fits))
    return plan


def plan_memory(inp: PlanInput, gpu_types: dict[str, float] | None = None) -> PlanReport:
    """Plan `inp` on each GPU type (default: a100-40g, a100-80g, h100-80g)."""
    types_ = gpu_types or GPU_TYPES
    return PlanReport(
        input=inp,
        per_gpu_type={name: _plan_gpu(inp, name, cap) for name, cap in types_.items()},
        host=host_ram(inp),
    )


def _describe(inp: PlanInput) -> str:
    bits = [
        inp.model.name + (" (estimated shape)" if inp.model.approximate and "estimated" not in inp.model.name else ""),
        f"{inp.model.params_b:g}B params",
        f"{inp.nodes}×{inp.gpus_per_node} GPUs",
        f"ZeRO-{inp.zero_stage}",
        "grad ckpt" if inp.gradient_checkpointing else "no grad ckpt",
    ]
    if inp.adam_offload:
        bits.append("Adam offload")
    if inp.engines > 0:
        bits.append(f"vLLM {inp.engines}×TP{inp.vllm_tp} @{inp.vllm_gpu_memory_utilization:.2f}"
                    + (" colocated" if inp.colocate_all else " separate GPUs"))
    sleeps = [n for n, on in (("ds", inp.ds_enable_sleep), ("vllm", inp.vllm_enable_sleep)) if on]
    bits.append("sleep " + "+".join(sleeps) if sleeps else "no sleep")
    bits.append(("ref offloaded" if inp.ref_offload else "ref on GPU") if inp.ref_model else "no ref model")
    bits.append(f"seq {inp.seq_len} ({inp.prompt_tokens}+{inp.max_new_tokens}) × micro-batch {inp.micro_batch}")
    return " · ".join(bits)


def render_plan(report: PlanReport, describe: Callable[[Suggestion], str] | None = None) -> str:
    """Plain-text table: components per phase (rows) × GPU types (columns), verdicts, host RAM, fixes."""
    names = list(report.per_gpu_type)
    plans = [report.per_gpu_type[n] for n in names]
    w = 24
    lines = [_describe(report.input), "all sizes in GiB per GPU", ""]
    lines.append(f"{'':<{w}}" + "".join(f"{n:>14}" for n in names))
    lines.append(f"{'capacity':<{w}}" + "".join(f"{p.capacity_gib:>14.1f}" for p in plans))
    for i, phase in enumerate(plans[0].phases):
        lines.append(phase.name)
        for comp in phase.components:
            vals = [p.phases[i].components[comp] for p in plans]
            if any(abs(v) >= 0.005 for v in vals):
                lines.append(f"  {comp:<{w - 2}}" + "".join(f"{v:>14.2f}" for v in vals))
        lines.append(f"  {'= total':<{w - 2}}" + "".join(f"{p.phases[i].total:>14.2f}" for p in plans))
    lines.append(f"{'peak':<{w}}" + "".join(f"{p.peak_gib:>14.2f}" for p in plans))
    lines.append(f"{'headroom':<{w}}" + "".join(f"{p.headroom_gib:>14.2f}" for p in plans))
    if report.input.engines > 0:
        lines.append(f"{'vLLM KV tokens/engine':<{w}}" + "".join(f"{p.kv_tokens_per_engine:>14,}" for p in plans))
    lines.append(f"{'verdict':<{w}}" + "".join(f"{p.verdict:>14}" for p in plans))
    h = report.host
    parts = ", ".join(f"{k} {v:.0f}" for k, v in h.components.items()) or "nothing offloaded"
    lines += ["", f"host RAM per node: {h.pinned_gib:.0f} GiB pinned ({parts}); plan ≥ {h.recommended_gib:.0f} GiB"]
    for p in plans:
        for prob in p.problems:
            lines.append(f"{p.gpu_type}: {prob}")
        if p.suggestions:
            lines.append(f"{p.gpu_type} does not fit (peak {p.peak_gib:.1f} in {p.peak_phase}); try, in order:")
            for s in p.suggestions:
                tag = "fits" if s.fixes else "not enough alone"
                lines.append(f"  - {describe(s) if describe else s.change}: saves {s.saving_gib:.1f} GiB ({tag})")
    return "\n".join(lines)
