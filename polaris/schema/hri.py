"""Recipe section ``reference_injection``: human-reference injection (HRI).

HRI puts one human-written story (the prompt's reference) into each GRPO group next to the
policy's own samples. The reference is teacher-forced (never sampled), scored by the same judge
as the policy samples, and its advantage is multiplied by a small, scheduled weight, so the
update on the human text is an advantage-weighted imitation term. See ``docs/hri.md``.

pydantic only: importing this module must stay cheap.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from polaris.schema._base import Section

__all__ = ["ReferenceWeight", "ReferenceInjection"]


class ReferenceWeight(Section):
    """Schedule of the multiplier applied to the reference row's advantage (0-based steps)."""

    peak: float = Field(
        0.4,
        ge=0.0,
        le=10.0,
        description="Weight reached at the end of warm-up (POLARIS: 0.4).",
    )
    warmup_steps: int = Field(
        15,
        ge=0,
        description="Steps of linear warm-up from 0 to `peak`; 0 applies `peak` from step 0.",
    )
    decay_steps: int = Field(
        0,
        ge=0,
        description="Steps of decay from `peak` to `final` after warm-up; 0 keeps `peak` forever.",
    )
    schedule: Literal["linear", "cosine"] = Field(
        "linear",
        description="Shape of the decay phase: 'linear' or 'cosine' (warm-up is always linear).",
    )
    final: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="Weight reached at the end of the decay and kept afterwards (only used when decay_steps > 0).",
    )

    @model_validator(mode="after")
    def validate_final_not_above_peak(self) -> "ReferenceWeight":
        """A 'decay' that rises would be a second warm-up: refuse it as a likely typo."""
        if self.decay_steps > 0 and self.final > self.peak:
            raise ValueError(
                f"final ({self.final}) is above peak ({self.peak}); the decay phase must not increase "
                "the weight — lower `final` or raise `peak`"
            )
        return self


class ReferenceInjection(Section):
    """Human-reference injection into GRPO groups (POLARIS's HRI, or a LUFFY-style variant)."""

    enabled: bool = Field(
        True,
        description="Inject the prompt's human reference as one row of each training group.",
    )
    slots_per_group: Literal[1] = Field(
        1,
        description=(
            "Reference rows per group. They count inside grpo.samples_per_prompt: with 6 samples per "
            "prompt and 1 slot, a group is 5 policy samples + 1 reference."
        ),
    )
    statistics: Literal["exclude", "include"] = Field(
        "exclude",
        description=(
            "'exclude' (POLARIS): group mean/std over the policy rows only, so policy advantages equal "
            "plain GRPO over those rows; 'include' (LUFFY-style): mean/std over all rows, reference included."
        ),
    )
    weight: ReferenceWeight = Field(
        default_factory=ReferenceWeight,
        description="Schedule of the multiplier on the reference row's advantage.",
    )
    clip_negative_advantage: bool = Field(
        False,
        description=(
            "Clip a negative reference advantage to 0 (never push the human story's likelihood down). "
            "POLARIS leaves it off."
        ),
    )
    require_reasoning_trace: bool | None = Field(
        None,
        description=(
            "Require a gold reasoning trace (label field `reasoning`) on every training reference. "
            "null derives it from the model: required when thinking is on."
        ),
    )
    reference_reward: Literal["judged", "fixed"] = Field(
        "judged",
        description=(
            "'judged': the reference is scored by the same judge and penalties as the policy samples "
            "(POLARIS); 'fixed': it gets `fixed_reward` without a judge call."
        ),
    )
    fixed_reward: float | None = Field(
        None,
        description="Reward given to every reference when reference_reward is 'fixed' (required then).",
    )

    @model_validator(mode="after")
    def validate_fixed_reward(self) -> "ReferenceInjection":
        """`fixed_reward` must be set exactly when `reference_reward` is 'fixed'."""
        if self.reference_reward == "fixed" and self.fixed_reward is None:
            raise ValueError(
                "reference_reward is 'fixed' but fixed_reward is not set; give the reward the reference "
                "should get (e.g. fixed_reward: 1.0) or use reference_reward: judged"
            )
        if self.reference_reward == "judged" and self.fixed_reward is not None:
            raise ValueError(
                "fixed_reward is set but reference_reward is 'judged'; remove fixed_reward or set "
                "reference_reward: fixed"
            )
        return self

    def derive_require_reasoning_trace(self, thinking: bool) -> bool:
        """Resolve `require_reasoning_trace` against the model's thinking mode (null → thinking)."""
        if self.require_reasoning_trace is None:
            return bool(thinking)
        return self.require_reasoning_trace
