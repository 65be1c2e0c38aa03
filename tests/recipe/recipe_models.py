"""Small nested models the loader tests run against (the loader is schema-agnostic).

They mimic the real schema's shapes: extra="forbid" everywhere, nested sections, Literal,
numeric ranges, lists, an optional sub-model, a discriminated union and model validators.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _S(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Sampling(_S):
    temperature: float = Field(1.0, ge=0.0, le=2.0, description="Sampling temperature.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    stop: list[str] = Field(default_factory=list, description="Stop strings.")


class Grpo(_S):
    samples_per_prompt: int = Field(8, ge=2, le=64, description="Completions per prompt.")
    learning_rate: float = Field(1e-6, gt=0, description="Actor learning rate.")
    loss: Literal["grpo", "dr_grpo", "gspo"] = Field("grpo", description="Policy loss.")
    sampling: Sampling = Field(default_factory=Sampling, description="Rollout sampling.")


class Filter(_S):
    kind: Literal["min_words", "max_words"] = Field(description="Filter kind.")
    value: int = Field(ge=0, description="Threshold.")


class Data(_S):
    path: str = Field(description="Prompt dataset (JSONL). Relative to the recipe.")
    filters: list[Filter] = Field(default_factory=list, description="Row filters.")
    eval_path: str | None = Field(None, description="Held-out prompts.")


class OpenAIJudge(_S):
    provider: Literal["openai"] = Field(description="Provider tag.")
    model: str = Field(description="Judge model name.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Env var holding the key.")


class LocalJudge(_S):
    provider: Literal["local"] = Field(description="Provider tag.")
    url: str = Field(description="Base URL of the server.")
    model: str = Field("local", description="Model name.")


class Logging(_S):
    wandb_project: str | None = Field(None, description="W&B project.")
    every: int = Field(1, ge=1, description="Log every N steps.")


class Cluster(_S):
    gpus: int = Field(8, ge=1, description="GPUs in total.")
    nodes: int = Field(1, ge=1, description="Nodes.")

    @model_validator(mode="after")
    def validate_split(self) -> "Cluster":
        if self.gpus % self.nodes:
            raise ValueError(f"cluster.gpus ({self.gpus}) must be divisible by cluster.nodes ({self.nodes})")
        return self


class Recipe(_S):
    RECIPE_VERSIONS: ClassVar[tuple[int, ...]] = (1,)

    recipe_version: int = Field(1, description="Recipe format version.")
    name: str = Field(description="Run name.")
    data: Data = Field(description="Training data.")
    grpo: Grpo = Field(default_factory=Grpo, description="GRPO settings.")
    judge: Annotated[Union[OpenAIJudge, LocalJudge], Field(discriminator="provider")] = Field(
        description="The LLM judge.")
    logging: Logging | None = Field(None, description="Logging (optional).")
    cluster: Cluster = Field(default_factory=Cluster, description="Cluster layout.")
    tags: list[str] = Field(default_factory=list, description="Free-form tags.")

    @field_validator("name")
    @classmethod
    def validate_name(cls, value: str) -> str:
        if value != value.lower():
            raise ValueError("use lower-case letters")
        return value

    @model_validator(mode="after")
    def validate_batch(self) -> "Recipe":
        if self.grpo.samples_per_prompt > 8 * self.cluster.gpus:
            raise ValueError("grpo.samples_per_prompt must be at most 8 x cluster.gpus")
        return self


VALID = """\
recipe_version: 1
name: demo
data:
  path: data/demo.jsonl
  filters:
    - kind: min_words
      value: 100
grpo:
  samples_per_prompt: 6
  sampling:
    temperature: 0.8
    stop: ["</story>"]
judge:
  provider: openai
  model: gpt-4o-mini
tags: [a, b]
"""
