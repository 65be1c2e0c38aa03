"""Result types of the judge client."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Judgment", "MemberResult", "JudgeCallError"]


class JudgeCallError(Exception):
    """A judge call that failed for good (retries exhausted, non-retryable 4xx, invalid answer after re-ask).

    ``reason`` is a short machine-readable cause (``http_400``, ``timeout``, ``invalid_answer``...);
    the message is for humans and never contains the API key.
    """

    def __init__(self, reason: str, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.reason = reason
        self.attempts = attempts


@dataclass
class MemberResult:
    """What one panel member (or the single backend) returned for one story."""

    model: str
    base_url: str
    value: float | None
    failed: bool
    failure_reason: str | None = None
    per_dimension: dict[str, float | None] = field(default_factory=dict)
    rationale: dict[str, str] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    fabricated_quotes: int = 0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    attempts: int = 0
    reasks: int = 0


@dataclass
class Judgment:
    """The outcome of judging one story (possibly by a panel).

    ``value`` is the normalised story-quality score SQ (the rubric's reward value), or ``None``
    when the judgment failed; a failure is never turned into a number here.
    """

    value: float | None
    failed: bool
    failure_reason: str | None = None
    per_dimension: dict[str, float | None] = field(default_factory=dict)
    rationale: dict[str, str] = field(default_factory=dict)
    flags: dict[str, Any] = field(default_factory=dict)
    fabricated_quotes: int = 0
    latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    attempts: int = 0
    members: list[MemberResult] = field(default_factory=list)
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (used by the judgment store and the audit log)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Judgment":
        d = dict(d)
        members = [MemberResult(**m) for m in d.pop("members", [])]
        return cls(members=members, **d)
