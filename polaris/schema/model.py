"""The ``model`` section: which policy is trained and how its chat template is used."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ._base import Section

__all__ = ["ModelConfig"]


class ModelConfig(Section):
    """The policy model and how prompts are rendered for it."""

    policy: str = Field(
        description="Hugging Face model id (e.g. Qwen/Qwen3.5-9B) or a path the cluster can read. "
        "Only read on the cluster: compiling never downloads weights.",
    )
    dtype: Literal["bf16", "fp16"] = Field(
        default="bf16", description="Parameter dtype for training (OpenRLHF --ds.param_dtype)."
    )
    chat_template: Literal["model", "none"] | str = Field(
        default="model",
        description="How prompts are rendered: 'model' uses the tokenizer's own chat template, "
        "'none' sends the raw prompt text, anything else is a path to a Jinja template file.",
    )
    system_prompt: str | None = Field(
        default=None, description="Optional system message placed before every prompt."
    )
    thinking: bool = Field(
        default=True,
        description="Render prompts with thinking on (the model writes a <think> block, then the story). "
        "Passed to the chat template as enable_thinking.",
    )
    thinking_token_cap: int | None = Field(
        default=3072,
        ge=1,
        description="Thinking tokens beyond this cap are penalised (reward.think_cap). "
        "null disables the cap. Only meaningful with thinking on.",
    )
    end_of_turn_token: str = Field(
        default="<|im_end|>",
        description="The token the policy emits to end its turn; appended to injected references so "
        "the policy learns to stop.",
    )
    attn_implementation: Literal["flash_attention_2", "sdpa", "eager"] = Field(
        default="flash_attention_2", description="Attention kernel for the trainer (OpenRLHF --ds.attn_implementation)."
    )
    params_b: float | None = Field(
        default=None,
        gt=0,
        description="Parameter count in billions, for the memory plan of a model the planner does not know; "
        "null = known table, else parsed from the model id (e.g. '...-0.6B').",
    )
    freeze_visual_encoder: bool = Field(
        default=True,
        description="Freeze the vision tower of multimodal checkpoints such as Qwen3.5 (stories are text only).",
    )
    trust_remote_code: bool = Field(
        default=False, description="Allow custom modelling code from the model repository."
    )

    @model_validator(mode="after")
    def validate_thinking_cap(self) -> "ModelConfig":
        if not self.thinking and self.thinking_token_cap is not None and "thinking_token_cap" in self.model_fields_set:
            raise ValueError(
                "model.thinking_token_cap is set but model.thinking is false; "
                "remove the cap or turn thinking on"
            )
        return self
