"""The ``grpo`` section: the policy-optimisation algorithm, batches, lengths and sampling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ._base import Section

__all__ = ["GRPOConfig", "SamplingConfig", "KLConfig", "EvalCadence"]


class SamplingConfig(Section):
    """Rollout sampling. top_k, min_p and repetition_penalty are applied by the polaris executor
    (OpenRLHF's CLI has no flag for them)."""

    temperature: float = Field(default=1.0, gt=0, le=2.0, description="Sampling temperature.")
    top_p: float = Field(default=0.95, gt=0, le=1.0, description="Nucleus sampling mass.")
    top_k: int = Field(default=20, ge=-1, description="Top-k sampling; -1 disables it.")
    min_p: float = Field(default=0.0, ge=0, le=1.0, description="Min-p sampling; 0 disables it.")
    repetition_penalty: float = Field(
        default=1.1, gt=0, le=2.0, description="vLLM repetition penalty; 1.0 disables it."
    )


class KLConfig(Section):
    """KL regularisation against the reference model. coef 0 removes the reference model entirely."""

    coef: float = Field(default=0.0, ge=0, description="KL coefficient (OpenRLHF --algo.kl.init_coef).")
    estimator: Literal["k1", "k2", "k3"] = Field(default="k3", description="KL estimator.")
    use_loss: bool = Field(
        default=True, description="Add KL as a loss term (GRPO style) instead of subtracting it from the reward."
    )


class EvalCadence(Section):
    """In-loop evaluation on data.eval (mean judge reward per step). Length-generalisation runs offline."""

    every_steps: int | None = Field(
        default=None, ge=1, description="Evaluate every N steps; null = no in-loop evaluation."
    )
    temperature: float = Field(default=0.8, gt=0, le=2.0, description="Sampling temperature for evaluation.")
    samples_per_prompt: int = Field(default=1, ge=1, description="Samples per evaluation prompt.")
    top_p: float | None = Field(default=None, gt=0, le=1.0, description="Nucleus mass for evaluation; null = grpo.sampling.top_p.")
    top_k: int | None = Field(default=None, ge=-1, description="Top-k for evaluation (-1 = off); null = grpo.sampling.top_k.")
    min_p: float | None = Field(default=None, ge=0, le=1.0, description="Min-p for evaluation; null = grpo.sampling.min_p.")
    repetition_penalty: float | None = Field(
        default=None, gt=0, le=2.0, description="Repetition penalty for evaluation; null = grpo.sampling.repetition_penalty."
    )


class GRPOConfig(Section):
    """Group-relative policy optimisation settings (OpenRLHF group_norm)."""

    estimator: Literal["group_norm", "dr_grpo", "rloo", "reinforce_baseline"] = Field(
        default="group_norm",
        description="Advantage estimator. group_norm = GRPO; reference injection needs group_norm.",
    )
    normalize_by_std: bool = Field(
        default=True, description="Divide group-centred rewards by the group std (GRPO); false = Dr.GRPO-style "
        "(with group_norm only under reference injection, whose hook honours it; otherwise use estimator dr_grpo)."
    )
    advantage_clip: float | None = Field(
        default=None,
        gt=0,
        description="Clamp every row's advantage (the group-centred reward, reference weight applied) to "
        "[-c, c] (OpenRLHF --reward.clip_range, which acts after the group baseline). null = no clamp, as "
        "POLARIS; the composite reward itself is clipped by reward.clip in the reward service.",
    )
    samples_per_prompt: int = Field(
        default=6, ge=1, description="Rows per group, the reference slot included when reference injection is on."
    )
    prompts_per_step: int = Field(default=8, ge=1, description="Prompts per rollout step (OpenRLHF --rollout.batch_size).")
    train_batch_size: int | None = Field(
        default=None,
        ge=1,
        description="Rows per optimizer step (OpenRLHF --train.batch_size); null = prompts_per_step x "
        "samples_per_prompt, i.e. one on-policy update per rollout step.",
    )
    micro_batch_size: int = Field(default=1, ge=1, description="Rows per GPU per forward/backward pass in training.")
    rollout_micro_batch_size: int = Field(
        default=1, ge=1, description="Rows per GPU per forward pass when computing log-probs for experience."
    )
    epochs: int = Field(default=1, ge=1, description="PPO epochs over each rollout batch (OpenRLHF --train.max_epochs).")
    num_episodes: int = Field(default=1, ge=1, description="Passes over the training prompts.")
    lr: float = Field(default=1e-6, gt=0, lt=1, description="Actor learning rate.")
    lr_scheduler: Literal["constant", "constant_with_warmup", "cosine_with_min_lr", "cosine", "linear"] = Field(
        default="constant", description="Learning-rate schedule (a transformers scheduler name)."
    )
    lr_warmup_ratio: float = Field(default=0.0, ge=0, le=1, description="Share of steps spent warming the lr up.")
    min_lr_ratio: float = Field(default=0.1, ge=0, le=1, description="Floor of cosine_with_min_lr, as a share of lr.")
    max_grad_norm: float = Field(default=1.0, gt=0, description="Gradient clipping norm.")
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay.")
    clip_low: float = Field(default=0.2, gt=0, lt=1, description="PPO ratio clip below 1 (1 - clip_low).")
    clip_high: float = Field(default=0.28, gt=0, lt=10, description="PPO ratio clip above 1 (DAPO clip-higher).")
    loss_agg: Literal["token-mean", "seq-mean-token-mean"] = Field(
        default="token-mean", description="Loss aggregation over tokens (OpenRLHF --actor.loss_agg_mode)."
    )
    kl: KLConfig = Field(default_factory=KLConfig, description="KL regularisation.")
    entropy_coef: float = Field(default=0.0, ge=0, description="Entropy bonus coefficient (0 = log only).")
    max_prompt_tokens: int = Field(default=256, ge=1, le=32768, description="Longest rendered prompt, in policy tokens.")
    max_new_tokens: int = Field(default=8192, ge=1, le=262144, description="Response budget (thinking + story) in tokens.")
    max_len: int | None = Field(
        default=None,
        ge=2,
        le=294912,
        description="Total sequence budget (OpenRLHF --data.max_len, also vLLM's max_model_len); "
        "null = max_prompt_tokens + max_new_tokens.",
    )
    sampling: SamplingConfig = Field(default_factory=SamplingConfig, description="Rollout sampling.")
    is_correction: Literal["off", "token", "seq"] = Field(
        default="off",
        description="Importance-sampling correction for vLLM/trainer mismatch (OpenRLHF "
        "--algo.advantage.is_correction_level). With reference injection it needs unmodified sampling "
        "(the reference's log-probs come from vLLM prompt_logprobs).",
    )
    dynamic_filtering: bool = Field(
        default=False, description="Drop groups whose rewards have no spread (DAPO dynamic sampling)."
    )
    seed: int = Field(default=42, ge=0, lt=2**32, description="Training seed.")
    eval: EvalCadence = Field(default_factory=EvalCadence, description="In-loop evaluation cadence.")

    @model_validator(mode="after")
    def derive_batch_and_length(self) -> "GRPOConfig":
        # Filled in only when left null, so the resolved recipe states what runs.
        if self.train_batch_size is None:
            object.__setattr__(self, "train_batch_size", self.prompts_per_step * self.samples_per_prompt)
        if self.max_len is None:
            object.__setattr__(self, "max_len", self.max_prompt_tokens + self.max_new_tokens)
        return self

    @model_validator(mode="after")
    def validate_group_and_lengths(self) -> "GRPOConfig":
        if self.samples_per_prompt < 2:
            raise ValueError(
                f"grpo.estimator {self.estimator!r} compares samples within a group: "
                f"grpo.samples_per_prompt must be > 1 (got {self.samples_per_prompt})"
            )
        rows = self.prompts_per_step * self.samples_per_prompt
        if rows % self.train_batch_size:
            raise ValueError(
                f"grpo.train_batch_size ({self.train_batch_size}) must divide the rows of one rollout step, "
                f"grpo.prompts_per_step x grpo.samples_per_prompt = {rows}"
            )
        if self.max_len < self.max_prompt_tokens + self.max_new_tokens:
            raise ValueError(
                f"grpo.max_len ({self.max_len}) is below grpo.max_prompt_tokens + grpo.max_new_tokens "
                f"({self.max_prompt_tokens} + {self.max_new_tokens}); responses would be cut"
            )
        return self
