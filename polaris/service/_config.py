"""The reward service's configuration: ``reward_service.json`` in a run directory / job bundle.

Everything the service needs, resolved, in one self-contained file (the rubric is embedded, so
the service never resolves paths relative to a recipe it cannot see)::

    {"format": "polaris.reward_service/1",
     "judge": {...JudgeConfig... or null},
     "reward": {...RewardConfig...},
     "rubric_ref": "polaris-story-quality",
     "rubric": {...RubricSpec...} or null,
     "thinking": true, "think_cap_tokens": 3072, "word_rule": "polaris_w",
     "length_templates": ["Your story should be approximately {target_words} words long.", ...],
     "max_new_tokens": 8192, "end_of_turn_token": "<|im_end|>"}

Build it with :meth:`ServiceConfig.from_recipe` and write it with :meth:`ServiceConfig.write`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from polaris._jsonfile import load_json_model
from polaris.schema._base import Section
from polaris.schema.judge import JudgeConfig
from polaris.schema.reward import RewardConfig, WordRule

__all__ = ["ServiceConfig", "ServiceConfigError", "SERVICE_CONFIG_NAME", "FORMAT"]

SERVICE_CONFIG_NAME = "reward_service.json"
FORMAT = "polaris.reward_service/1"

_DEFAULT_TEMPLATES = [
    "Your story should be approximately {target_words} words long.",
    "Aim for about {target_words} words.",
    "The story should run to roughly {target_words} words.",
]


class ServiceConfigError(ValueError):
    """The service configuration file is missing or invalid (message says which file and why)."""


class ServiceConfig(Section):
    """Resolved settings of the reward service (``reward_service.json``)."""

    format: Literal["polaris.reward_service/1"] = Field(
        default=FORMAT, description="File format tag; bumped on incompatible changes."
    )
    judge: JudgeConfig | None = Field(
        description="The judge; null scores without a judge (story_quality null, deterministic terms only)."
    )
    reward: RewardConfig = Field(default_factory=RewardConfig, description="How components combine into the reward.")
    rubric_ref: str | None = Field(
        default=None,
        description="Built-in rubric name or absolute rubric path (used when `rubric` is not embedded).",
    )
    rubric: dict[str, Any] | None = Field(
        default=None, description="The rubric file's content (RubricSpec), embedded so the file is self-contained."
    )
    thinking: bool = Field(default=True, description="The policy writes <think>…</think> before the story.")
    think_cap_tokens: int | None = Field(default=3072, ge=1, description="Thinking-token cap; null = no cap.")
    word_rule: WordRule = Field(default="polaris_w", description="Word-counting rule (same as reward.word_rule).")
    length_templates: list[str] = Field(
        default_factory=lambda: list(_DEFAULT_TEMPLATES),
        description="Length-instruction phrasings ({target_words} placeholder) removed from prompts before judging.",
    )
    max_new_tokens: int | None = Field(
        default=8192, ge=1, description="Generation budget in tokens (for the DAPO overlong penalty)."
    )
    end_of_turn_token: str = Field(
        default="<|im_end|>",
        description="Token that ends a finished response; a stock /get_reward query without it counts as truncated.",
    )
    max_request_mb: float = Field(default=64.0, gt=0, description="Largest accepted request body in MiB.")

    @model_validator(mode="after")
    def validate_rubric_source(self) -> "ServiceConfig":
        if self.rubric is None and self.rubric_ref is None:
            raise ValueError("give the rubric (embedded `rubric`) or `rubric_ref`")
        return self

    def rubric_spec(self) -> Any:
        """The :class:`~polaris.schema.rubric.RubricSpec` (embedded copy first, else loaded by ref)."""
        from polaris.schema.rubric import RubricSpec

        if self.rubric is not None:
            return RubricSpec.model_validate(self.rubric)
        from polaris.rubric import load_rubric

        return load_rubric(self.rubric_ref)

    @classmethod
    def from_recipe(cls, recipe: Any, *, rubric_ref: str | None = None) -> "ServiceConfig":
        """Resolve from a validated recipe object (``load_recipe(path).recipe``).

        ``rubric_ref`` is the rubric as `polaris.resolve.rubric_ref` resolves it (a relative
        ``rubric.path`` is relative to the recipe file that set it, not to the working directory).
        """
        from polaris.rubric import load_rubric

        ref = rubric_ref or (recipe.rubric.ref() if hasattr(recipe.rubric, "ref") else str(recipe.rubric))
        spec = load_rubric(ref)
        model = recipe.model
        li = getattr(getattr(recipe, "data", None), "length_instruction", None)
        grpo = getattr(recipe, "grpo", None)
        return cls(
            judge=recipe.judge,
            reward=recipe.reward,
            rubric_ref=ref,
            rubric=spec.model_dump(mode="json"),
            thinking=model.thinking,
            think_cap_tokens=model.thinking_token_cap if model.thinking else None,
            word_rule=recipe.reward.word_rule,
            length_templates=list(li.templates) if li is not None else list(_DEFAULT_TEMPLATES),
            max_new_tokens=getattr(grpo, "max_new_tokens", None),
            end_of_turn_token=model.end_of_turn_token,
        )

    def write(self, path: str | Path) -> Path:
        """Write as JSON (a directory gets ``reward_service.json`` inside it)."""
        p = Path(path)
        if p.is_dir():
            p = p / SERVICE_CONFIG_NAME
        p.write_text(json.dumps(self.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | Path) -> "ServiceConfig":
        """Read a ``reward_service.json`` file or a run directory holding one."""
        p = Path(path)
        if p.is_dir():
            p = p / SERVICE_CONFIG_NAME
        if not p.is_file():
            raise ServiceConfigError(f"{p}: no reward service config here (expected {SERVICE_CONFIG_NAME})")
        return load_json_model(p, cls, ServiceConfigError, "reward service config")
