"""Planner inputs: model shapes (a small built-in table + a fallback from a parameter count) and
the training layout (`PlanInput`).

Model numbers in the table:

* **Qwen/Qwen3.5-9B** (openrlhf.md §7; transformers 5.15 `Qwen3_5TextConfig` shapes, confirm with the
  checkpoint's config.json): hidden 4096, 32 layers = 24 Gated-DeltaNet + 8 full-attention (every
  4th), 4 KV heads × head_dim 256, MLP 12288, vocab 248,320. Parameter count 9.3e9 *including the
  vision tower* — by hand: embedding and untied LM head 2 × 248,320 × 4096 ≈ 2.03e9; MLP
  32 × 3 × 4096 × 12288 ≈ 4.83e9; 8 gated full-attention layers ≈ 0.47e9; 24 GDN layers ≈ 1.61e9;
  text ≈ 8.9e9, vision encoder ≈ 0.4e9. All of it is trained and held by DeepSpeed unless frozen.
* **Qwen/Qwen3-8B**, **Qwen/Qwen2.5-7B-Instruct**: shapes from their published config.json files.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ModelShape:
    """The few numbers of a decoder the memory arithmetic needs."""

    name: str
    params_b: float  # billions of parameters (everything DeepSpeed holds)
    hidden: int
    layers: int
    vocab: int
    full_attn_layers: int  # layers with a KV cache (linear-attention layers keep O(1) state)
    kv_heads: int
    head_dim: int
    intermediate: int  # MLP width
    approximate: bool = False  # True when derived from a parameter count only

    @classmethod
    def from_params(cls, params_b: float, *, vocab: int = 152_064, name: str | None = None) -> ModelShape:
        """Rough dense-transformer shape from a parameter count (params ≈ 12·L·h², L ≈ h/128).

        Good to ±30 % on activations; the parameter-driven terms (weights, optimizer) stay exact.
        """
        if params_b <= 0:
            raise ValueError(f"params_b must be positive, got {params_b}")
        h = (params_b * 1e9 * 128 / 12) ** (1 / 3)
        hidden = max(256, int(round(h / 256)) * 256)
        layers = max(2, int(round(hidden / 128)))
        return cls(
            name=name or f"~{params_b:g}B (estimated shape)",
            params_b=params_b,
            hidden=hidden,
            layers=layers,
            vocab=vocab,
            full_attn_layers=layers,
            kv_heads=8,
            head_dim=128,
            intermediate=3 * hidden,
            approximate=True,
        )


KNOWN_MODELS: dict[str, ModelShape] = {
    "qwen/qwen3.5-9b": ModelShape("Qwen/Qwen3.5-9B", 9.3, 4096, 32, 248_320, 8, 4, 256, 12_288),
    "qwen/qwen3-8b": ModelShape("Qwen/Qwen3-8B", 8.2, 4096, 36, 151_936, 36, 8, 128, 12_288),
    "qwen/qwen2.5-7b-instruct": ModelShape("Qwen/Qwen2.5-7B-Instruct", 7.6, 3584, 28, 152_064, 28, 4, 128, 18_944),
}


def model_shape(model_id: str, *, params_b: float | None = None) -> ModelShape:
    """Shape for `model_id` (HF id or a local path ending in it, case-insensitive), else from `params_b`."""
    key = model_id.strip().rstrip("/").lower()
    for known, shape in KNOWN_MODELS.items():
        if key == known or key.endswith("/" + known.split("/", 1)[1]) or key == known.split("/", 1)[1]:
            return shape
    if params_b is None:
        raise ValueError(
            f"unknown model {model_id!r}: pass params_b (billions of parameters) for an estimated shape; "
            f"known models: {', '.join(s.name for s in KNOWN_MODELS.values())}"
        )
    return ModelShape.from_params(params_b, name=model_id)


@dataclass(frozen=True)
class PlanInput:
    """One training layout to plan. Defaults are polaris's 4×A100 GRPO start point (openrlhf.md §1.3)."""

    model: ModelShape
    nodes: int = 1
    gpus_per_node: int = 4
    zero_stage: int = 3
    adam_offload: bool = False
    gradient_checkpointing: bool = True
    colocate_all: bool = True
    vllm_engines: int | None = None  # None: one engine per vllm_tp GPUs of the actor layout
    vllm_tp: int = 1
    vllm_gpu_memory_utilization: float = 0.6
    vllm_enforce_eager: bool = False
    ds_enable_sleep: bool = True
    vllm_enable_sleep: bool = True
    ref_model: bool = False  # KL > 0 loads a reference model
    ref_offload: bool = False
    micro_batch: int = 1
    prompt_tokens: int = 256
    max_new_tokens: int = 8192
    param_dtype: str = "bf16"

    @classmethod
    def for_model(cls, model_id: str, *, params_b: float | None = None, **layout: object) -> PlanInput:
        """`PlanInput(model=model_shape(model_id, params_b=params_b), **layout)`."""
        return cls(model=model_shape(model_id, params_b=params_b), **layout)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        problems = []
        for name in ("nodes", "gpus_per_node", "vllm_tp", "micro_batch", "max_new_tokens"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be ≥ 1")
        if self.zero_stage not in (0, 1, 2, 3):
            problems.append("zero_stage must be 0-3")
        if not 0 < self.vllm_gpu_memory_utilization <= 1:
            problems.append("vllm_gpu_memory_utilization must be in (0, 1]")
        if self.prompt_tokens < 0:
            problems.append("prompt_tokens must be ≥ 0")
        if self.param_dtype not in ("bf16", "fp16"):
            problems.append("param_dtype must be bf16 or fp16")
        if self.vllm_engines is not None and self.vllm_engines < 0:
            problems.append("vllm_engines must be ≥ 0")
        if problems:
            raise ValueError("invalid PlanInput: " + "; ".join(problems))

    @property
    def actor_gpus(self) -> int:
        """GPUs DeepSpeed trains on (= data-parallel size; no ring attention / DeepSpeed TP)."""
        return self.nodes * self.gpus_per_node

    @property
    def engines(self) -> int:
        """vLLM engines (derived for colocation when not given)."""
        if self.vllm_engines is not None:
            return self.vllm_engines
        return max(self.actor_gpus // self.vllm_tp, 1)

    @property
    def seq_len(self) -> int:
        """Longest training sequence: prompt + generation."""
        return self.prompt_tokens + self.max_new_tokens

    @property
    def params(self) -> float:
        """Parameter count."""
        return self.model.params_b * 1e9

    def with_(self, **changes: object) -> PlanInput:
        """A copy with some fields changed (used for what-if suggestions)."""
        return replace(self, **changes)  # type: ignore[arg-type]

