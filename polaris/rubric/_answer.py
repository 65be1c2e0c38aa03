"""The judge's structured answer: its JSON Schema and a strict parser."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from polaris.schema.rubric import RubricSpec

__all__ = ["AnswerError", "DimensionAnswer", "Answer", "answer_schema", "parse_answer", "IGNORED_TOTAL_KEYS"]

#: Top-level keys a judge may add although the schema forbids them; they are totals or labels
#: the judge computed itself, recorded in ``Answer.ignored`` and never used (totals are recomputed).
IGNORED_TOTAL_KEYS = frozenset(
    {"overall_score", "overall", "total", "total_score", "positive_total", "negative_total", "label", "final_score"}
)


class AnswerError(ValueError):
    """The judge's answer does not match the rubric's answer schema (a judge failure, never a 0)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class DimensionAnswer:
    """One dimension of the judge's answer. ``score`` is None when the judge said not applicable."""

    score: int | None
    justification: str
    quotes: tuple[str, ...]


@dataclass
class Answer:
    """A parsed, structurally valid judge answer."""

    dimensions: dict[str, DimensionAnswer]
    ignored: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def scores(self) -> dict[str, int | None]:
        """Dimension id → score (None = not applicable)."""
        return {k: v.score for k, v in self.dimensions.items()}


def answer_schema(spec: RubricSpec) -> dict[str, Any]:
    """JSON Schema of the judge's answer: one object per dimension, in rubric order.

    Scores carry an ``enum`` of the allowed integers because grammar-constrained decoders
    (llama.cpp) ignore ``minimum``/``maximum``; both are given. N/A-able dimensions also allow null.
    """
    props: dict[str, Any] = {}
    for d in spec.dimensions:
        allowed: list[Any] = list(range(d.min, d.max + 1))
        score: dict[str, Any] = {"type": "integer", "enum": allowed, "minimum": d.min, "maximum": d.max}
        if d.allow_na:
            score = {**score, "type": ["integer", "null"], "enum": [*allowed, None]}
        props[d.id] = {
            "type": "object",
            "description": d.name,
            "properties": {
                "score": score,
                "justification": {"type": "string", "maxLength": spec.justification_max_chars},
                "quotes": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": spec.quotes.max_chars},
                    "maxItems": spec.quotes.max_items,
                },
            },
            "required": ["score", "justification", "quotes"],
            "additionalProperties": False,
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{spec.name} answer",
        "type": "object",
        "properties": props,
        "required": [d.id for d in spec.dimensions],
        "additionalProperties": False,
    }


_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(.*)\n\s*```$", re.S)


def _load_json(text: str) -> Any:
    body = text.strip()
    m = _FENCE.match(body)
    if m:  # a single fenced block is formatting, not content
        body = m.group(1).strip()
    try:
        # strict=False tolerates raw newlines inside strings, common in long justifications.
        return json.loads(body, strict=False)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"answer is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None


def parse_answer(spec: RubricSpec, text_or_obj: str | bytes | dict[str, Any]) -> Answer:
    """Parse and check a judge answer against ``spec``.

    Raises :class:`AnswerError` for invalid JSON, a non-object, missing or unexpected keys (judge
    totals listed in :data:`IGNORED_TOTAL_KEYS` are set aside instead), wrong types, and scores that
    are not integers in range (or null where N/A is not allowed). Over-long justifications, quotes
    or too many quotes are soft: kept (quotes trimmed to ``max_items``) and listed in ``problems``.
    """
    if isinstance(text_or_obj, (bytes, bytearray)):
        text_or_obj = text_or_obj.decode("utf-8", errors="replace")
    obj = _load_json(text_or_obj) if isinstance(text_or_obj, str) else text_or_obj
    if not isinstance(obj, dict):
        raise AnswerError(f"answer must be a JSON object, got {type(obj).__name__}")
    ids = [d.id for d in spec.dimensions]
    ignored = {k: obj[k] for k in obj if k not in ids and k.lower() in IGNORED_TOTAL_KEYS}
    extra = [k for k in obj if k not in ids and k not in ignored]
    if extra:
        raise AnswerError(f"unexpected keys {extra}; expected exactly {ids}")
    missing = [k for k in ids if k not in obj]
    if missing:
        raise AnswerError(f"missing dimensions {missing}")
    problems: list[str] = []
    dims: dict[str, DimensionAnswer] = {}
    for d in spec.dimensions:
        entry = obj[d.id]
        if not isinstance(entry, dict):
            raise AnswerError(f"{d.id}: expected an object with score, justification, quotes")
        keys = set(entry)
        if keys != {"score", "justification", "quotes"}:
            bad = sorted(keys - {"score", "justification", "quotes"})
            lack = sorted({"score", "justification", "quotes"} - keys)
            raise AnswerError(f"{d.id}: " + "; ".join(x for x in (bad and f"unexpected keys {bad}", lack and f"missing keys {lack}") if x))
        score = entry["score"]
        if score is None:
            if not d.allow_na:
                raise AnswerError(f"{d.id}: score is null but this dimension is always applicable")
        elif isinstance(score, bool) or not isinstance(score, int):
            raise AnswerError(f"{d.id}: score must be an integer, got {score!r}")
        elif not d.min <= score <= d.max:
            raise AnswerError(f"{d.id}: score {score} outside {d.min}..{d.max}")
        just = entry["justification"]
        if not isinstance(just, str):
            raise AnswerError(f"{d.id}: justification must be a string")
        if len(just) > spec.justification_max_chars:
            problems.append(f"long_justification:{d.id}")
        quotes = entry["quotes"]
        if not isinstance(quotes, list) or not all(isinstance(q, str) for q in quotes):
            raise AnswerError(f"{d.id}: quotes must be a list of strings")
        if len(quotes) > spec.quotes.max_items:
            problems.append(f"too_many_quotes:{d.id}")
            quotes = quotes[: spec.quotes.max_items]
        if any(len(q) > spec.quotes.max_chars for q in quotes):
            problems.append(f"long_quote_chars:{d.id}")
        dims[d.id] = DimensionAnswer(score=score, justification=just, quotes=tuple(quotes))
    return Answer(dimensions=dims, ignored=ignored, problems=problems)
