"""The top-level recipe and the checks that span sections.

Each section validates itself; this module holds only the rules that name fields from two
sections, so every message here names both fields.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ._base import Section
from .cluster import ClusterConfig
from .data import DataConfig
from .grpo import GRPOConfig
from .hri import ReferenceInjection
from .judge import JudgeConfig
from .model import ModelConfig
from .output import LoggingConfig, OutputConfig
from .reward import RewardConfig
from .rubric_ref import RubricRef

__all__ = ["Recipe", "RECIPE_VERSION"]

#: The recipe format this polaris reads. A renamed key fails as unknown; `recipe_version` says which rules apply.
RECIPE_VERSION = 1

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_QWEN35 = re.compile(r"qwen3[._]?5", re.IGNORECASE)


class Recipe(Section):
    """A Polaris recipe: everything needed to run, reproduce and evaluate one RL fine-tuning job."""

    recipe_version: Literal[1] = Field(
        default=RECIPE_VERSION, description="Recipe format version. This polaris reads version 1."
    )
    name: str = Field(description="Short run name (lower-case letters, digits, '.', '_', '-'); names the run directory.")
    description: str = Field(default="", description="Free text: what this recipe is for.")
    extends: str | list[str] | None = Field(
        default=None,
        description="Recipe file(s) this one builds on, relative to this file. Mappings merge key by key; "
        "scalars and lists in this file replace the inherited ones.",
    )
    model: ModelConfig = Field(description="The policy model.")
    data: DataConfig = Field(description="Training and evaluation data.")
    rubric: RubricRef = Field(description="The rubric the judge scores against.")
    judge: JudgeConfig = Field(description="The LLM judge that scores stories.")
    reward: RewardConfig = Field(default_factory=RewardConfig, description="How the reward is composed.")
    reference_injection: ReferenceInjection = Field(
        default_factory=ReferenceInjection, description="Human-reference injection (HRI) into GRPO groups."
    )
    grpo: GRPOConfig = Field(default_factory=GRPOConfig, description="The policy-optimisation algorithm.")
    cluster: ClusterConfig = Field(default_factory=ClusterConfig, description="Hardware and placement.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Metrics logging.")
    output: OutputConfig = Field(default_factory=OutputConfig, description="Run directory and checkpoints.")

    @field_validator("name")
    @classmethod
    def validate_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use lower-case letters, digits, '.', '_' or '-' (at most 64 characters)")
        return value

    # -- reference injection -------------------------------------------------------------------
    @model_validator(mode="after")
    def validate_reference_injection(self) -> "Recipe":
        hri, grpo = self.reference_injection, self.grpo
        if not hri.enabled:
            return self
        policy_rows = grpo.samples_per_prompt - hri.slots_per_group
        if policy_rows < 1:
            raise ValueError(
                f"grpo.samples_per_prompt ({grpo.samples_per_prompt}) must leave room for at least one policy "
                f"sample besides reference_injection.slots_per_group ({hri.slots_per_group})"
            )
        if hri.statistics == "exclude" and grpo.normalize_by_std and policy_rows < 2:
            raise ValueError(
                f"reference_injection.statistics 'exclude' with grpo.normalize_by_std needs at least 2 policy rows "
                f"per group for a std; grpo.samples_per_prompt = {grpo.samples_per_prompt} leaves {policy_rows}"
            )
        if grpo.estimator != "group_norm":
            raise ValueError(
                f"reference_injection.enabled needs grpo.estimator 'group_norm' (got {grpo.estimator!r}): the "
                "polaris hook rewrites group_norm advantages only"
            )
        s = grpo.sampling
        raw_sampling = (s.temperature, s.top_p, s.top_k, s.min_p, s.repetition_penalty) == (1.0, 1.0, -1, 0.0, 1.0)
        if grpo.is_correction != "off" and not raw_sampling:
            # The executor gives the reference the policy's own log-probs through vLLM prompt_logprobs,
            # which are raw: they match the rollout distribution only when sampling does not reshape it.
            raise ValueError(
                f"reference_injection.enabled with grpo.is_correction {grpo.is_correction!r} needs unmodified "
                "sampling (grpo.sampling temperature 1.0, top_p 1.0, top_k -1, min_p 0, repetition_penalty 1.0): "
                "the reference's behaviour log-probs come from vLLM prompt_logprobs, which ignore those knobs; "
                "or set grpo.is_correction: off (POLARIS)"
            )
        if grpo.dynamic_filtering:
            raise ValueError(
                "reference_injection.enabled cannot be combined with grpo.dynamic_filtering: re-sampled groups "
                "would be injected twice"
            )
        if self.data.references is None and self.data.fields.reference is None:
            raise ValueError(
                "reference_injection.enabled needs human references: set data.references (a file joined on the "
                "id) or data.fields.reference (a field of the training rows)"
            )
        needs_trace = hri.derive_require_reasoning_trace(self.model.thinking)
        if needs_trace and not self.model.thinking:
            raise ValueError(
                "reference_injection.require_reasoning_trace is true but model.thinking is false: "
                "a trace only makes sense inside a think block"
            )
        has_trace_field = self.data.fields.reasoning is not None or (
            self.data.references is not None and self.data.references.reasoning_field is not None
        )
        if needs_trace and not has_trace_field:
            raise ValueError(
                "model.thinking is on, so reference_injection needs a gold reasoning trace per reference: set "
                "data.references.reasoning_field (or data.fields.reasoning), or set "
                "reference_injection.require_reasoning_trace: false to inject an empty think block"
            )
        if hri.reference_reward == "fixed" and hri.fixed_reward is not None:
            if not -self.reward.clip <= hri.fixed_reward <= self.reward.clip:
                raise ValueError(
                    f"reference_injection.fixed_reward ({hri.fixed_reward}) lies outside reward.clip "
                    f"[-{self.reward.clip}, {self.reward.clip}]"
                )
        return self

    @model_validator(mode="after")
    def validate_std_normalisation(self) -> "Recipe":
        # OpenRLHF 0.11.2's group_norm always divides by the std (--algo.advantage.no_std_norm is
        # ignored there); only the polaris hook's HRI path honours normalize_by_std: false.
        g = self.grpo
        if not g.normalize_by_std and g.estimator == "group_norm" and not self.reference_injection.enabled:
            raise ValueError(
                "grpo.normalize_by_std false has no effect with grpo.estimator 'group_norm' when reference "
                "injection is off (OpenRLHF's group_norm always divides by the std): use grpo.estimator "
                "'dr_grpo' for mean-centred advantages without the std"
            )
        return self

    # -- lengths -------------------------------------------------------------------------------
    @model_validator(mode="after")
    def validate_lengths(self) -> "Recipe":
        cap = self.model.thinking_token_cap
        if self.model.thinking and cap is not None and cap >= self.grpo.max_new_tokens:
            raise ValueError(
                f"model.thinking_token_cap ({cap}) must be below grpo.max_new_tokens ({self.grpo.max_new_tokens}) "
                "or no tokens are left for the story"
            )
        if self.reward.overlong.enabled and self.reward.overlong.buffer_tokens >= self.grpo.max_new_tokens:
            raise ValueError(
                f"reward.overlong.buffer_tokens ({self.reward.overlong.buffer_tokens}) must be below "
                f"grpo.max_new_tokens ({self.grpo.max_new_tokens})"
            )
        return self

    # -- hardware ------------------------------------------------------------------------------
    @model_validator(mode="after")
    def validate_batches_on_cluster(self) -> "Recipe":
        # DeepSpeed needs every optimizer batch to split evenly over the data-parallel ranks.
        dp = self.cluster.total_gpus
        per_step = self.grpo.micro_batch_size * dp
        if self.grpo.train_batch_size % per_step:
            raise ValueError(
                f"grpo.train_batch_size ({self.grpo.train_batch_size}) must be divisible by grpo.micro_batch_size x "
                f"cluster GPUs ({self.grpo.micro_batch_size} x {dp} = {per_step})"
            )
        rows = self.grpo.prompts_per_step * self.grpo.samples_per_prompt
        if rows < self.grpo.rollout_micro_batch_size * dp // self.cluster.vllm.tensor_parallel_size:
            raise ValueError(
                f"one rollout step has {rows} rows (grpo.prompts_per_step x grpo.samples_per_prompt), fewer than "
                f"grpo.rollout_micro_batch_size x cluster GPUs; every GPU needs work"
            )
        if self.cluster.packing and _QWEN35.search(self.model.policy):
            raise ValueError(
                f"cluster.packing cannot be used with model.policy {self.model.policy!r} on OpenRLHF 0.11.2: "
                "Qwen3.5's linear-attention layers leak state across packed samples"
            )
        if self.cluster.ref_offload and self.grpo.kl.coef == 0:
            raise ValueError("cluster.ref_offload is set but grpo.kl.coef is 0, so there is no reference model")
        return self

    # -- evaluation ----------------------------------------------------------------------------
    @model_validator(mode="after")
    def validate_eval(self) -> "Recipe":
        if self.grpo.eval.every_steps is not None and self.data.eval is None:
            raise ValueError("grpo.eval.every_steps is set but data.eval is not: nothing to evaluate on")
        return self
