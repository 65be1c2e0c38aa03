"""Result types of the judge client."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, is_dataclass
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


_ATOMS = (str, int, float, bool, type(None))


def _plain(obj: Any) -> Any:
    """``dataclasses.asdict``'s recursion, without its deep copy of immutable leaves (it is on the
    per-judgment path: the store serialises every judgment)."""
    t = type(obj)
    if t in _ATOMS:
        return obj
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # named tuple
        return t(*[_plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return t(_plain(v) for v in obj)
    if isinstance(obj, dict):
        if hasattr(t, "default_factory"):  # defaultdict
            out = t(obj.default_factory)  # type: ignore[attr-defined]
            for k, v in obj.items():
                out[_plain(k)] = _plain(v)
            return out
        return t((_plain(k), _plain(v)) for k, v in obj.items())
    return copy.deepcopy(obj)


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
        """JSON-ready dict (used by the judgment store and the audit log); the same as ``dataclasses.asdict``."""
        return _plain(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Judgment":
        d = dict(d)
        members = [MemberResult(**m) for m in d.pop("members", [])]
        return cls(members=members, **d)
