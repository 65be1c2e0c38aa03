"""The ``cluster`` section: hardware, Ray, placement and memory settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ._base import Section

__all__ = ["ClusterConfig", "VLLMConfig", "GPU_TYPES"]

#: GPU types the memory planner knows (capacity in GB).
GPU_TYPES = {"a100-40g": 40, "a100-80g": 80, "h100-80g": 80, "h200-141g": 141}
GpuType = Literal["a100-40g", "a100-80g", "h100-80g", "h200-141g"]


class VLLMConfig(Section):
    """vLLM rollout engines."""

    engines: int | None = Field(
        default=None,
        ge=1,
        description="Number of vLLM engines; null = one per tensor-parallel group of all GPUs (with colocation).",
    )
    tensor_parallel_size: int = Field(default=1, ge=1, description="GPUs per vLLM engine.")
    gpu_memory_utilization: float = Field(
        default=0.6, gt=0, le=0.95, description="Share of each GPU's memory vLLM may take (weights + KV cache)."
    )
    enforce_eager: bool = Field(default=False, description="Disable CUDA graphs (slower, less memory, easier debugging).")
    enable_sleep: bool = Field(
        default=True, description="Put vLLM to sleep during training (needs cluster.colocate 'all')."
    )
    enable_prefix_caching: bool = Field(default=False, description="vLLM prefix caching (little gain for short prompts).")


class ClusterConfig(Section):
    """Where and how the job runs."""

    nodes: int = Field(default=1, ge=1, description="Number of nodes for the actor (and everything colocated with it).")
    gpus_per_node: int = Field(default=4, ge=1, le=16, description="GPUs per node.")
    gpu_type: GpuType = Field(default="a100-80g", description="GPU model, for the memory plan.")
    ray_address: str | None = Field(
        default=None,
        description="Address of an existing Ray cluster (http://head:8265) to submit to; null = start a local "
        "Ray head on this machine (single node).",
    )
    colocate: Literal["all", "actor_ref", "none"] = Field(
        default="all",
        description="'all': actor, reference and vLLM share the same GPUs (hybrid engine); 'actor_ref': actor "
        "and reference share, vLLM gets its own GPUs; 'none': separate GPUs for each.",
    )
    vllm: VLLMConfig = Field(default_factory=VLLMConfig, description="Rollout engines.")
    zero_stage: Literal[1, 2, 3] = Field(default=3, description="DeepSpeed ZeRO stage.")
    adam_offload: bool = Field(default=False, description="Keep Adam states on the CPU (saves GPU memory, slow).")
    deepspeed_sleep: bool = Field(
        default=True, description="Offload optimizer states between phases (OpenRLHF --ds.enable_sleep)."
    )
    gradient_checkpointing: bool = Field(default=True, description="Recompute activations in backward to save memory.")
    ref_offload: bool = Field(default=False, description="Keep the reference model on the CPU (only with KL on).")
    packing: bool = Field(
        default=False,
        description="Pack samples into one sequence. Refused for Qwen3.5 on OpenRLHF 0.11.2: recurrent state "
        "leaks across packed samples.",
    )
    allow_memory_overcommit: bool = Field(
        default=False, description="Compile even when the memory plan says the layout does not fit."
    )
    reward_service_port: int = Field(
        default=8731, ge=1024, le=65535, description="Port of the polaris reward service on the head node."
    )

    @property
    def total_gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    @model_validator(mode="after")
    def derive_engines(self) -> "ClusterConfig":
        if self.vllm.engines is None and self.colocate == "all":
            object.__setattr__(self.vllm, "engines", max(1, self.total_gpus // self.vllm.tensor_parallel_size))
        return self

    @model_validator(mode="after")
    def validate_colocation(self) -> "ClusterConfig":
        if self.vllm.engines is None:
            raise ValueError("cluster.vllm.engines must be set when cluster.colocate is not 'all'")
        vllm_gpus = self.vllm.engines * self.vllm.tensor_parallel_size
        if self.colocate == "all" and vllm_gpus != self.total_gpus:
            raise ValueError(
                f"with cluster.colocate 'all', cluster.vllm.engines x cluster.vllm.tensor_parallel_size "
                f"({self.vllm.engines} x {self.vllm.tensor_parallel_size} = {vllm_gpus}) must equal "
                f"cluster.nodes x cluster.gpus_per_node ({self.total_gpus})"
            )
        if self.vllm.enable_sleep and self.colocate != "all":
            raise ValueError(
                "cluster.vllm.enable_sleep needs cluster.colocate 'all' (OpenRLHF would silently turn it off)"
            )
        if self.vllm.tensor_parallel_size > self.gpus_per_node:
            raise ValueError(
                f"cluster.vllm.tensor_parallel_size ({self.vllm.tensor_parallel_size}) exceeds "
                f"cluster.gpus_per_node ({self.gpus_per_node})"
            )
        return self
