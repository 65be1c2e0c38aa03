"""Loaders for the two JSON files the compiler writes into the job bundle.

* ``polaris_executor.json`` (env ``POLARIS_EXECUTOR_CONFIG``) – read by the rollout executor
  inside every vLLM actor.
* ``polaris_hook.json`` (env ``POLARIS_HOOK_CONFIG``) – read by the trainer-side hook in every
  Ray worker.

Paths are relative to the Ray working dir (the process cwd). Errors name the file and the field.
pydantic only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from polaris._jsonfile import load_json_model

__all__ = [
    "EXECUTOR_CONFIG_ENV",
    "HOOK_CONFIG_ENV",
    "HOOK_INSTALLED_ENV",
    "ConfigFileError",
    "HookError",
    "ExecutorConfig",
    "HookConfig",
    "load_executor_config",
    "load_hook_config",
]

EXECUTOR_CONFIG_ENV = "POLARIS_EXECUTOR_CONFIG"
HOOK_CONFIG_ENV = "POLARIS_HOOK_CONFIG"
#: Set by ``polaris.hri.hook.install`` in the worker process; the executor refuses to start without it.
HOOK_INSTALLED_ENV = "POLARIS_HRI_HOOK_INSTALLED"


class ConfigFileError(RuntimeError):
    """A Polaris job config file is missing or invalid (message says which file and field)."""


class HookError(RuntimeError):
    """The trainer-side hook refuses to run or to continue (message says why and what to do)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SamplingKnobs(_Strict):
    """vLLM sampling settings OpenRLHF's CLI does not expose (policy samples only)."""

    top_k: int = Field(-1, description="vLLM top_k; -1 or 0 disables it.")
    repetition_penalty: float = Field(1.0, gt=0, description="vLLM repetition_penalty; 1.0 disables it.")
    min_p: float = Field(0.0, ge=0, le=1, description="vLLM min_p; 0 disables it.")
    top_p: float | None = Field(None, gt=0, le=1, description="vLLM top_p; null keeps OpenRLHF's value.")


class ExecutorConfig(_Strict):
    """``polaris_executor.json`` (contracts.md "Executor config") plus optional extras."""

    samples_per_prompt: int = Field(..., ge=1, description="Rows per group (policy + reference).")
    reference_slots: Literal[1] = Field(1, description="Reference rows per injected group.")
    hri_enabled: bool = Field(..., description="Inject references into training groups.")
    thinking: bool = Field(..., description="The policy thinks (<think> block) before the story.")
    reward_service_url: str = Field(..., description="Base URL of the Polaris reward service.")
    reward_token_env: str | None = Field(None, description="NAME of the env var with the bearer token.")
    reward_timeout_s: float = Field(900, gt=0, description="Total timeout of one /v1/score attempt.")
    sampling: SamplingKnobs = Field(default_factory=SamplingKnobs, description="Extra sampling knobs.")
    eval_sampling: SamplingKnobs | None = Field(
        None, description="Knobs for evaluation rows (label split 'eval'); null = `sampling`."
    )
    end_of_turn_token: str = Field(..., description="Token the policy ends its turn with (appended to references).")
    reward_keys: list[str] = Field(default_factory=list, description="Reward component keys logged per row.")
    # Optional extras (defaults keep the contract's file valid as is).
    reward_retries: int = Field(6, ge=1, description="Attempts per /v1/score request.")
    max_concurrency: int = Field(64, ge=1, description="Concurrent /v1/score requests per vLLM actor.")
    reward_backoff_s: float = Field(2.0, ge=0, description="First retry delay; doubles per attempt (cap 60 s, jitter).")
    require_reasoning_trace: bool | None = Field(
        None, description="Require label.reasoning for references; null = `thinking`."
    )
    reference_reward_fixed: float | None = Field(
        None, description="Give references this reward instead of judging them (reference_reward: fixed)."
    )
    think_end_token: str = Field("</think>", description="Token closing the thinking block (for think_tokens).")

    @model_validator(mode="after")
    def validate_url(self) -> "ExecutorConfig":
        if not self.reward_service_url.startswith(("http://", "https://")):
            raise ValueError(f"reward_service_url must start with http:// or https://, got {self.reward_service_url!r}")
        if self.hri_enabled and self.samples_per_prompt < 2:
            raise ValueError("hri_enabled needs samples_per_prompt >= 2 (at least one policy row beside the reference)")
        return self

    @property
    def needs_reasoning(self) -> bool:
        return self.thinking if self.require_reasoning_trace is None else self.require_reasoning_trace


class WeightConfig(_Strict):
    """Reference-weight schedule (see ``polaris.hri.reference_weight``)."""

    peak: float = Field(0.4, ge=0, description="Weight after warm-up.")
    warmup_steps: int = Field(15, ge=0, description="Linear warm-up steps.")
    decay_steps: int = Field(0, ge=0, description="Decay steps after warm-up (0: none).")
    final: float = Field(0.0, ge=0, description="Weight after the decay.")
    schedule: Literal["linear", "cosine"] = Field("linear", description="Decay shape.")


class HookConfig(_Strict):
    """``polaris_hook.json`` (contracts.md "Hook config")."""

    openrlhf_version: str = Field(..., description="The OpenRLHF version the job was compiled for.")
    hri_enabled: bool = Field(..., description="Apply HRI advantages (else only imputation + stock group_norm).")
    exclude_reference_from_stats: bool = Field(True, description="POLARIS (true) or LUFFY-style (false) statistics.")
    weight: WeightConfig = Field(default_factory=WeightConfig, description="Reference-weight schedule.")
    clip_negative_reference: bool = Field(False, description="Clip a negative reference advantage at 0.")
    normalize_by_std: bool = Field(True, description="Divide by the group std (GRPO) or only centre (Dr. GRPO).")
    eps: float = Field(1e-6, gt=0, description="Added to the std (POLARIS: 1e-6; stock group_norm: 1e-9).")
    reward: dict = Field(default_factory=dict, description="Composite-reward config for recomputation after imputation.")
    abort_failed_fraction: float = Field(0.5, ge=0, le=1, description="Abort when more rows than this failed judging.")


M = TypeVar("M", bound=BaseModel)


def _load(env: str, model: type[M], path: str | os.PathLike | None) -> M:
    if path is None:
        path = os.environ.get(env)
        if not path:
            raise ConfigFileError(
                f"environment variable {env} is not set; the job's runtime_env must name the Polaris "
                f"config file (compiled by `polaris compile`)"
            )
    p = Path(path)
    if not p.is_file():
        raise ConfigFileError(f"{env}: config file {str(p)!r} not found (cwd {os.getcwd()!r})")
    return load_json_model(p, model, ConfigFileError, model.__name__)


def load_executor_config(path: str | os.PathLike | None = None) -> ExecutorConfig:
    """Read the executor config from ``path`` or the file named by ``POLARIS_EXECUTOR_CONFIG``."""
    return _load(EXECUTOR_CONFIG_ENV, ExecutorConfig, path)


def load_hook_config(path: str | os.PathLike | None = None) -> HookConfig:
    """Read the hook config from ``path`` or the file named by ``POLARIS_HOOK_CONFIG``."""
    return _load(HOOK_CONFIG_ENV, HookConfig, path)
