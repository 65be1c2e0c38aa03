"""Per-GPU memory arithmetic for an OpenRLHF GRPO job (pure; all sizes in GiB = 2^30 bytes).

Two phases per step (openrlhf.md §7, ppo_trainer.py:266-316, samples_generator.py:106-120):

* **generation** — vLLM awake with its whole `gpu_memory_utilization` share; DeepSpeed asleep when
  `--ds.enable_sleep` (only the bf16 parameter shard stays: lp_params are not offloaded), otherwise
  its full training state stays resident; the reference model shard (if any) stays.
* **training** — vLLM asleep when `--vllm.enable_sleep` (a small residual for its CUDA context and
  graph pool), otherwise its share stays; DeepSpeed has weights, gradients, optimizer states,
  activations and the fp32 logits of one micro-batch. (The log-prob pass that precedes it needs a
  subset of this: no gradients, smaller logits.)

Without `--train.colocate_all`, vLLM runs on its own GPUs and the actor GPUs only see training.
Byte counts: bf16 weights 2 B/param, bf16 grads 2 B/param, fp32 master + Adam m/v 12 B/param
(16 B/param total), sharded over DP by ZeRO stage 3 (weights, grads, optimizer), 2 (grads,
optimizer) or 1 (optimizer). Logits: the LM head's bf16 output (2 B) is cast to fp32 (4 B,
actor.py:267) and its gradient is fp32 (4 B) → 10 B per token per vocab entry in training
(7K tokens × 248K vocab: fp32 logits 6.5 GiB, training peak ≈16 GiB, openrlhf.md §7's 15-20 GB).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._input import PlanInput

GIB = float(1 << 30)

#: Nominal memory per GPU type (GiB) — what `torch.cuda.mem_get_info` calls total, rounded.
GPU_TYPES: dict[str, float] = {"a100-40g": 40.0, "a100-80g": 80.0, "h100-80g": 80.0}

#: Driver/ECC/allocator floor per GPU, plus a CUDA context (+ NCCL buffers) per process on the GPU.
RESERVE_BASE_GIB = 1.0
RESERVE_PER_PROCESS_GIB = 0.6
#: What a sleeping vLLM engine still holds (CUDA graph pool, workspace); less without CUDA graphs.
VLLM_SLEEP_RESIDUAL_GIB = 1.5
VLLM_SLEEP_RESIDUAL_EAGER_GIB = 0.75
#: vLLM's own non-KV overhead inside its share (profiling activations, sampler, graphs).
VLLM_OVERHEAD_GIB = 2.0
#: "tight" when less than this fraction of the GPU is left at the peak (fragmentation, spikes).
TIGHT_FRACTION = 0.05


@dataclass
class Phase:
    """Memory of one phase on one GPU: named components (GiB) and their sum."""

    name: str
    components: dict[str, float]

    @property
    def total(self) -> float:
        """Sum of the components."""
        return sum(self.components.values())


@dataclass
class Suggestion:
    """A knob to turn, what it saves at the peak, and whether that alone makes the plan fit."""

    knob: str
    change: str
    saving_gib: float
    fixes: bool


@dataclass
class GpuPlan:
    """The plan for one GPU type."""

    gpu_type: str
    capacity_gib: float
    phases: list[Phase]
    verdict: str  # "fits" | "tight" | "does_not_fit"
    peak_gib: float
    peak_phase: str
    headroom_gib: float
    kv_cache_gib: float
    kv_tokens_per_engine: int
    problems: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        """True for "fits" and "tight"."""
        return self.verdict != "does_not_fit"


@dataclass
class HostPlan:
    """Pinned host RAM per node and a recommended total."""

    pinned_gib: float
    components: dict[str, float]
    recommended_gib: float


def _dp(inp: PlanInput) -> int:
    return inp.actor_gpus


def _deepspeed_state(inp: PlanInput) -> dict[str, float]:
    """Weights, gradients and optimizer states per actor GPU."""
    p, dp, z = inp.params, _dp(inp), inp.zero_stage
    weights = p * 2 / (dp if z >= 3 else 1)
    grads = p * 2 / (dp if z >= 2 else 1)
    optim = 0.0 if inp.adam_offload else p * 12 / (dp if z >= 1 else 1)
    return {"weights": weights / GIB, "gradients": grads / GIB, "optimizer": optim / GIB}


def _zero3_gather(inp: PlanInput) -> float:
    # ZeRO-3 gathers whole modules on use; the largest is the embedding / LM head (vocab × hidden),
    # and the prefetcher may hold the next one too.
    if inp.zero_stage < 3:
        return 0.0
    m = inp.model
    return 2 * m.vocab * m.hidden * 2 / GIB


def _activations(inp: PlanInput) -> float:
    m, tokens = inp.model, inp.seq_len * inp.micro_batch
    per_layer_token = 12 * m.hidden + 8 * m.intermediate  # bf16 tensors a layer saves for backward
    if inp.gradient_checkpointing:
        checkpoints = m.layers * tokens * m.hidden * 2  # one bf16 hidden state per layer
        working = 2 * per_layer_token * tokens  # one layer recomputed + its gradients
        return (checkpoints + working) / GIB
    return (m.layers * per_layer_token * tokens + per_layer_token * tokens) / GIB


def _logits(inp: PlanInput) -> float:
    return inp.seq_len * inp.micro_batch * inp.model.vocab * 10 / GIB


def _ref_shard(inp: PlanInput) -> float:
    if not inp.ref_model or inp.ref_offload:
        return 0.0
    # OpenRLHF's eval config keeps ZeRO-3 sharding, otherwise stage 0 = a full copy per GPU.
    return inp.params * 2 / (_dp(inp) if inp.zero_stage >= 3 else 1) / GIB


def _reserve(inp: PlanInput, *, vllm_here: bool) -> float:
    processes = 1 + (1 if inp.ref_model else 0) + (1 if vllm_here else 0)
    return RESERVE_BASE_GIB + RESERVE_PER_PROCESS_GIB * processes


def _kv(inp: PlanInput, capacity: float) -> tuple[float, int]:
    m = inp.model
    weights = inp.params * 2 / inp.vllm_tp / GIB
    kv_gib = inp.vllm_gpu_memory_utilization * capacity - weights - VLLM_OVERHEAD_GIB
    per_token = m.full_attn_layers * 2 * m.kv_heads * m.head_dim * 2 / inp.vllm_tp  # K and V, bf16
    tokens = int(max(kv_gib, 0) * GIB / per_token) if per_token else 0
    return kv_gib, tokens


def phases_for(inp: PlanInput, capacity: float) -> list[Phase]:
    """The phases on each kind of GPU this layout uses."""
    ds = _deepspeed_state(inp)
    vllm_share = inp.vllm_gpu_memory_utilization * capacity
    colocated = inp.colocate_all and inp.engines > 0
    residual = VLLM_SLEEP_RESIDUAL_EAGER_GIB if inp.vllm_enforce_eager else VLLM_SLEEP_RESIDUAL_GIB
    reserve = _reserve(inp, vllm_here=colocated)
    # vLLM budgets its own CUDA context inside its share.
    reserve_gen = reserve - (RESERVE_PER_PROCESS_GIB if colocated else 0.0)
    train = {
        "weights": ds["weights"],
        "zero3_gather": _zero3_gather(inp),
        "gradients": ds["gradients"],
        "optimizer": ds["optimizer"],
        "activations": _activations(inp),
        "logits": _logits(inp),
        "ref_model": _ref_shard(inp),
        "vllm": (residual if inp.vllm_enable_sleep else vllm_share) if colocated else 0.0,
        "reserve": reserve,
    }
    phases = [Phase("training", train)]
    if colocated:
        # Sleep offloads everything but the bf16 shard; DeepSpeed skips it under Adam offload
        # (deepspeed_utils.py:155-157), where the optimizer already lives on the host.
        resident = ds["weights"] if inp.ds_enable_sleep and not inp.adam_offload else sum(ds.values())
        phases.insert(0, Phase("generation", {
            "vllm": vllm_share,
            "deepspeed_resident": resident,
            "ref_model": _ref_shard(inp),
            "reserve": reserve_gen,
        }))
    elif inp.engines > 0:
        phases.insert(0, Phase("generation (vLLM GPUs)", {"vllm": vllm_share, "reserve": RESERVE_BASE_GIB}))
    return phases


def host_ram(inp: PlanInput) -> HostPlan:
    """Pinned host memory per node (sleep/offload targets) and a recommended RAM size.

    Recommended = (pinned + 64 GiB for OS, Ray workers, data loaders, page cache) / 0.7, since
    Ray's object store takes 30 % of RAM by default (openrlhf.md §7, issue #1013).
    """
    p, dp, gpn, nodes = inp.params, _dp(inp), inp.gpus_per_node, inp.nodes
    comp: dict[str, float] = {}
    colocated = inp.colocate_all and inp.engines > 0
    if colocated and inp.vllm_enable_sleep:
        comp["vllm_sleep_weights"] = inp.engines * p * 2 / nodes / GIB
    if inp.adam_offload:
        comp["adam_offload"] = gpn * p * 16 / dp / GIB  # fp32 master + m + v + fp32 grads
    elif inp.ds_enable_sleep and colocated:
        shard = 12 / (dp if inp.zero_stage >= 1 else 1) + 2 / (dp if inp.zero_stage >= 2 else 1)
        comp["deepspeed_sleep_states"] = gpn * p * shard / GIB
    if inp.ref_model and inp.ref_offload:
        comp["ref_offload"] = gpn * p * 2 / (dp if inp.zero_stage >= 3 else 1) / GIB
    pinned = sum(comp.values())
    return HostPlan(pinned_gib=pinned, components=comp, recommended_gib=(pinned + 64) / 0.7)
