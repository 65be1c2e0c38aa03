"""Recipe section ``judge``: the LLM judge that scores each story against the rubric.

One OpenAI-compatible endpoint (``backend``) or a weighted ``panel`` of them. Defaults follow
POLARIS (T=0.2, top_p 0.9, JSON-schema output, 3 retries) and work unchanged against a local
vLLM or llama.cpp server on 127.0.0.1. The API key is referred to by the NAME of an environment
variable and read only when a call is made.

pydantic only: importing this module must stay cheap.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from polaris.schema._base import EnvVarName, Section

__all__ = [
    "JudgeBackend",
    "JudgeSampling",
    "JudgeRetries",
    "JudgePanel",
    "JudgeConfig",
    "StructuredOutput",
    "FabricatedQuotePolicy",
]

StructuredOutput = Literal["json_schema", "json_object", "auto"]
FabricatedQuotePolicy = Literal["flag", "zero_dimension", "cap_dimension"]


class JudgeBackend(Section):
    """One OpenAI-compatible chat-completions endpoint serving one judge model."""

    base_url: str = Field(
        default="http://127.0.0.1:8000/v1",
        description="Base URL of the OpenAI-compatible API, including /v1 "
        "(e.g. https://api.openai.com/v1, or a local vLLM / llama.cpp server).",
    )
    model: str = Field(description="Model name sent in each request (e.g. gpt-5-mini, Qwen/Qwen3-32B).")
    api_key_env: EnvVarName | None = Field(
        default=None,
        description="NAME of the environment variable holding the API key, read at call time. "
        "Leave empty for a local server that needs no key. Never put the key itself here.",
    )
    weight: float = Field(
        default=1.0,
        gt=0.0,
        description="Weight of this judge when it is a member of a panel (ignored otherwise).",
    )
    input_cost_per_mtok: float = Field(
        default=0.0, ge=0.0, description="Price in USD per million prompt tokens, for cost accounting only."
    )
    output_cost_per_mtok: float = Field(
        default=0.0,
        ge=0.0,
        description="Price in USD per million completion tokens (incl. reasoning tokens), for cost accounting only.",
    )
    extra_body: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra JSON fields merged into every request body for this endpoint "
        "(e.g. {chat_template_kwargs: {enable_thinking: false}} for a vLLM-served Qwen judge).",
    )

    @model_validator(mode="after")
    def validate_base_url(self) -> "JudgeBackend":
        """A URL without a scheme fails late and obscurely inside the HTTP client: refuse it here."""
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url {self.base_url!r} must start with http:// or https://")
        if not self.model.strip():
            raise ValueError("model must not be empty")
        return self


class JudgeSampling(Section):
    """Sampling settings of every judge call."""

    temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="Sampling temperature (POLARIS: 0.2).")
    top_p: float = Field(default=0.9, gt=0.0, le=1.0, description="Nucleus sampling mass (POLARIS: 0.9).")
    max_tokens: int = Field(
        default=4096,
        ge=64,
        description="Completion-token budget of one answer. A rubric answer with rationales and quotes "
        "for 16 dimensions needs about 2-3k tokens; reasoning models need more.",
    )
    reasoning_effort: Literal["none", "low", "medium", "high"] = Field(
        default="none",
        description="Reasoning effort for reasoning judges (POLARIS used medium thinking). "
        "'none' does not send the parameter, which local servers need.",
    )
    seed: int | None = Field(
        default=None, description="Sampling seed sent with each call when the server supports it."
    )


class JudgeRetries(Section):
    """Retry policy for transient failures (429, 5xx, timeouts, connection resets)."""

    max_attempts: int = Field(
        default=4, ge=1, le=20, description="Attempts per judgment including the first (POLARIS: 1 + 3 retries)."
    )
    initial_backoff_s: float = Field(
        default=1.0, gt=0.0, description="Wait before the first retry; doubles on each further retry."
    )
    max_backoff_s: float = Field(default=60.0, gt=0.0, description="Upper bound of one wait between attempts.")
    jitter_s: float = Field(
        default=1.0,
        ge=0.0,
        description="Uniform random extra wait (0..jitter_s) added to each backoff so clients do not retry in lockstep.",
    )
    honor_retry_after: bool = Field(
        default=True,
        description="On 429/503 wait at least the server's Retry-After header (capped at max_backoff_s).",
    )

    @model_validator(mode="after")
    def validate_backoff_order(self) -> "JudgeRetries":
        """initial above max would silently clamp every wait to max; refuse the likely typo."""
        if self.initial_backoff_s > self.max_backoff_s:
            raise ValueError(
                f"initial_backoff_s ({self.initial_backoff_s}) is above max_backoff_s ({self.max_backoff_s})"
            )
        return self


class JudgePanel(Section):
    """Several judges whose scores are combined (a 'jury'; reduces self-preference and noise)."""

    members: list[JudgeBackend] = Field(
        min_length=2, description="Judges in the panel, each with its own endpoint, model and weight."
    )
    combine: Literal["mean", "median", "min"] = Field(
        default="mean",
        description="How the members' normalised story-quality values are combined: weighted 'mean', "
        "'median' (unweighted), or 'min' (most pessimistic). Per-dimension scores are reported as the "
        "weighted mean of the members that answered.",
    )
    min_successful: int = Field(
        default=1,
        ge=1,
        description="A judgment fails unless at least this many members return a valid answer.",
    )

    @model_validator(mode="after")
    def validate_min_successful(self) -> "JudgePanel":
        """A quorum larger than the panel could never be met."""
        if self.min_successful > len(self.members):
            raise ValueError(
                f"min_successful ({self.min_successful}) is larger than the panel ({len(self.members)} members)"
            )
        return self


class JudgeConfig(Section):
    """The story-quality judge: endpoint(s), sampling, structured output, retries, limits, accounting."""

    backend: JudgeBackend | None = Field(
        default=None,
        description="The judge endpoint. Set this or `panel`, not both.",
    )
    panel: JudgePanel | None = Field(
        default=None,
        description="A panel of judges used instead of `backend`; see panel.combine.",
    )
    sampling: JudgeSampling = Field(default_factory=JudgeSampling, description="Sampling settings of each call.")
    structured_output: StructuredOutput = Field(
        default="auto",
        description="How the answer's JSON schema is requested: 'json_schema' (OpenAI/vLLM form), "
        "'json_object' (llama.cpp form: json_object + schema), or 'auto' (try json_schema, fall back to "
        "json_object once per endpoint when the server rejects it, and remember the choice).",
    )
    timeout_s: float = Field(
        default=300.0,
        gt=0.0,
        description="Timeout of one HTTP call to the judge in seconds (a timed-out call is retried).",
    )
    retries: JudgeRetries = Field(default_factory=JudgeRetries, description="Retry policy for transient failures.")
    reask_on_invalid: bool = Field(
        default=True,
        description="Ask once more, saying what was wrong, when the answer is not valid JSON for the rubric "
        "or has out-of-range scores.",
    )
    concurrency: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="Maximum judge calls in flight per endpoint (POLARIS used 4; raise it to the provider's capacity).",
    )
    requests_per_minute: int | None = Field(
        default=None, ge=1, description="Client-side cap on judge requests per minute per endpoint; null = no cap."
    )
    tokens_per_minute: int | None = Field(
        default=None,
        ge=1,
        description="Client-side cap on (estimated prompt + max completion) tokens per minute per endpoint; "
        "null = no cap.",
    )
    fabricated_quote_policy: FabricatedQuotePolicy = Field(
        default="cap_dimension",
        description="What happens when a favourable score rests on a quote that is not in the story: 'flag' "
        "(reported only), 'cap_dimension' (the dimension is capped at the middle of its range) or "
        "'zero_dimension' (the dimension drops to its minimum). Unfavourable scores are never lowered.",
    )
    eval_judge: JudgeBackend | None = Field(
        default=None,
        description="A separate judge for evaluation (ideally another model family than the training judge); "
        "null = evaluation uses the training judge.",
    )

    @model_validator(mode="after")
    def validate_backend_or_panel(self) -> "JudgeConfig":
        """Exactly one source of judges, so it is never ambiguous which endpoint was paid for."""
        if self.backend is None and self.panel is None:
            raise ValueError("set judge.backend (one endpoint) or judge.panel (several)")
        if self.backend is not None and self.panel is not None:
            raise ValueError("set judge.backend or judge.panel, not both")
        return self

    def members(self) -> list[JudgeBackend]:
        """The judges called for each story: the single backend, or the panel members."""
        if self.panel is not None:
            return list(self.panel.members)
        assert self.backend is not None  # guaranteed by validate_backend_or_panel
        return [self.backend]

    @property
    def combine(self) -> str:
        """Panel combination rule ('mean' for a single backend)."""
        return self.panel.combine if self.panel is not None else "mean"
