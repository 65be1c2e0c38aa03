"""The recipe's ``reward`` section: how the judge score and the deterministic components combine.

Defaults reproduce POLARIS's training configuration (method.md §1.3, §4.3)::

    comp = clip(w_sq·SQ − (w_rep·rep + w_len·lenpen + w_blank·blank + w_over·overlong
                + w_think·think_pen) + w_sl·S_l/100, −clip, clip)

with injection-flagged and badly formatted responses sent to a floor, judge failures imputed
with the batch mean (never 0), and the per-sequence reward always one outcome scalar.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from polaris.schema._base import Section

__all__ = [
    "RewardWeights",
    "RepetitionConfig",
    "BlankConfig",
    "LengthBandConfig",
    "OverlongConfig",
    "ThinkCapConfig",
    "InjectionGuardConfig",
    "FailurePolicy",
    "GateConfig",
    "RewardConfig",
    "WordRule",
]

#: Names of the word-counting rules in :mod:`polaris.reward` (``WORD_RULES``).
WordRule = Literal["polaris_w", "unicode_words", "whitespace", "longwriter"]


class RewardWeights(Section):
    """Weights of the composite reward's terms (all non-negative; penalties are subtracted)."""

    story_quality: float = Field(1.0, ge=0, description="Weight of the judge's normalised story-quality score SQ.")
    repetition: float = Field(1.5, ge=0, description="Weight of the self-repetition penalty (subtracted).")
    length: float = Field(0.8, ge=0, description="Weight of the length-band penalty (subtracted). POLARIS: 0.8 train, 0.2 validation.")
    blank: float = Field(1.0, ge=0, description="Weight of the blank/too-short indicator (subtracted).")
    overlong: float = Field(1.0, ge=0, description="Weight of the DAPO soft-overlong penalty for responses that did not end properly (subtracted).")
    think_cap: float = Field(1.0, ge=0, description="Weight of the thinking-cap penalty (subtracted).")
    length_score_sl: float = Field(
        0.0,
        ge=0,
        description="Weight of the LongWriter length score S_l/100 (added). 0 = computed and reported only.",
    )


class RepetitionConfig(Section):
    """POLARIS self-repetition penalty: min(cap, scale·(mix_g·max(0, r_n − threshold) + mix_l·local_n) + w_dup·dup_lines)."""

    ngram: int = Field(4, ge=1, le=16, description="n of the word n-grams whose repeats are counted.")
    threshold: float = Field(0.08, ge=0, lt=1, description="Global repeat rate r_n tolerated before any penalty.")
    local_window: int = Field(64, ge=1, description="Window (in n-grams) inside which a repeated n-gram counts as a local repeat.")
    cap: float = Field(1.5, gt=0, description="Upper bound of the repetition penalty.")
    global_mix: float = Field(0.7, ge=0, description="Mixing weight of the global excess repeat rate max(0, r_n − threshold).")
    local_mix: float = Field(0.3, ge=0, description="Mixing weight of the local repeat share.")
    scale: float = Field(0.8, ge=0, description="Scale applied to the mixed n-gram term.")
    dup_lines_weight: float = Field(0.4, ge=0, description="Weight of the share of duplicated non-empty lines.")


class BlankConfig(Section):
    """A story is 'blank' (indicator 1.0) when it is mostly invisible characters or too short."""

    min_visible_ratio: float = Field(0.10, ge=0, le=1, description="Minimum share of non-whitespace characters in the story.")
    min_words: int = Field(150, ge=0, description="Minimum word count (by the reward's word rule).")


class LengthBandConfig(Section):
    """Asymmetric tolerance band [x − tol_lo, x + tol_hi] around the target x (POLARIS, method.md §4.3).

    tol_lo = clamp(lo_fraction·x, lo_min, lo_max), tol_hi = clamp(hi_fraction·x, hi_min, hi_max).
    """

    lo_fraction: float = Field(0.15, ge=0, lt=1, description="Short-side tolerance as a fraction of the target.")
    lo_min: int = Field(350, ge=0, description="Smallest short-side tolerance in words.")
    lo_max: int = Field(1000, ge=0, description="Largest short-side tolerance in words.")
    hi_fraction: float = Field(0.25, ge=0, description="Long-side tolerance as a fraction of the target.")
    hi_min: int = Field(600, ge=0, description="Smallest long-side tolerance in words.")
    hi_max: int = Field(1500, ge=0, description="Largest long-side tolerance in words.")

    @model_validator(mode="after")
    def validate_clamps(self) -> "LengthBandConfig":
        if self.lo_min > self.lo_max:
            raise ValueError(f"lo_min ({self.lo_min}) must not exceed lo_max ({self.lo_max})")
        if self.hi_min > self.hi_max:
            raise ValueError(f"hi_min ({self.hi_min}) must not exceed hi_max ({self.hi_max})")
        return self


class OverlongConfig(Section):
    """DAPO soft overlong punishment, applied only to responses that did not end properly (no EOS).

    penalty = min(1, max(0, L − (max_new_tokens − buffer)) / buffer).
    """

    enabled: bool = Field(True, description="Apply the soft overlong penalty.")
    buffer_tokens: int = Field(512, ge=1, description="Tokens before the generation limit where the penalty ramps from 0 to 1.")


class ThinkCapConfig(Section):
    """Penalty for thinking tokens beyond the model's thinking cap (the cap itself is a model setting, POLARIS 3072)."""

    per_token: float = Field(0.05, ge=0, description="Penalty per thinking token over the cap (the composite clip bounds the total).")


class InjectionGuardConfig(Section):
    """Deterministic guard against text addressed to the judge; flagged stories get the floor reward."""

    enabled: bool = Field(True, description="Run the injection detector on every story before judging.")
    floor: float | None = Field(
        None,
        description="Reward given to flagged (and malformed) responses; null means −clip.",
    )


class FailurePolicy(Section):
    """What happens when the judge fails for a story (a failure is never scored as 0).

    The retry budget before a story counts as failed is judge.retries (attempts, backoff).
    """

    imputation: Literal["batch_mean"] = Field(
        "batch_mean",
        description="How a failed story's quality is filled in: the mean of the batch's valid scores (so it carries no advantage).",
    )
    abort_failed_fraction: float = Field(
        0.5, gt=0, le=1, description="Abort training when more than this fraction of a batch's judge calls fail."
    )


class GateConfig(Section):
    """POLARIS disqualification gates (off by default, as in the paper's config)."""

    enabled: bool = Field(False, description="Turn the disqualification gates on.")
    dimension_at_least: dict[str, int] = Field(
        default_factory=lambda: {"N2": 7, "N10": 8},
        description="Rubric dimension id → score at or above which the story is disqualified.",
    )
    min_length_fraction: float = Field(
        0.40, ge=0, le=1, description="Disqualify when the word count is below this fraction of the target."
    )
    exempt_references: bool = Field(True, description="Human reference stories are never disqualified.")
    floor: float | None = Field(None, description="Reward of a disqualified story; null means −clip.")


class RewardConfig(Section):
    """The ``reward`` section of a recipe."""

    weights: RewardWeights = Field(default_factory=RewardWeights, description="Weights of the composite's terms.")
    eval_weights: RewardWeights | None = Field(
        None,
        description="Weights for evaluation rows (data.eval); null = the training weights. "
        "POLARIS validated with repetition 0.8, length 0.2 and no overlong penalty.",
    )
    word_rule: WordRule = Field(
        "polaris_w",
        description="Word-counting rule used for length, blank and gates (see polaris.reward.WORD_RULES).",
    )
    repetition: RepetitionConfig = Field(default_factory=RepetitionConfig, description="Self-repetition penalty parameters.")
    blank: BlankConfig = Field(default_factory=BlankConfig, description="Blank/too-short indicator parameters.")
    length: LengthBandConfig = Field(default_factory=LengthBandConfig, description="Length tolerance band parameters.")
    overlong: OverlongConfig = Field(default_factory=OverlongConfig, description="DAPO soft overlong penalty.")
    think_cap: ThinkCapConfig = Field(default_factory=ThinkCapConfig, description="Thinking-cap penalty coefficient.")
    injection: InjectionGuardConfig = Field(default_factory=InjectionGuardConfig, description="Injection guard and its floor.")
    failure: FailurePolicy = Field(default_factory=FailurePolicy, description="Judge failure handling.")
    gate: GateConfig = Field(default_factory=GateConfig, description="Optional disqualification gates.")
    clip: float = Field(2.0, gt=0, description="The composite reward is clipped to [−clip, clip].")
    reduction: Literal["outcome_scalar"] = Field(
        "outcome_scalar",
        description="Sequence reduction: always one scalar per response (never summed over tokens).",
    )

    def weights_for(self, split: str) -> RewardWeights:
        """The weights of a row of `split` ('train' or 'eval')."""
        return self.eval_weights if split == "eval" and self.eval_weights is not None else self.weights

    @property
    def injection_floor(self) -> float:
        """The reward of an injection-flagged or malformed response."""
        return -self.clip if self.injection.floor is None else self.injection.floor

    @property
    def gate_floor(self) -> float:
        """The reward of a disqualified response."""
        return -self.clip if self.gate.floor is None else self.gate.floor

    @model_validator(mode="after")
    def validate_floors_within_clip(self) -> "RewardConfig":
        for name, value in (("injection.floor", self.injection.floor), ("gate.floor", self.gate.floor)):
            if value is not None and not -self.clip <= value <= self.clip:
                raise ValueError(f"{name} = {value} lies outside the clip range [{-self.clip}, {self.clip}]")
        bad = {k: v for k, v in self.gate.dimension_at_least.items() if v < 1}
        if bad:
            raise ValueError(f"gate.dimension_at_least thresholds must be >= 1 (a 0 would disqualify every story): {bad}")
        return self
