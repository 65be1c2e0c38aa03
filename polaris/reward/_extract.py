"""Separating the story from the reasoning, and cleaning a story before the judge sees it."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Extraction", "extract_story", "sanitize_for_judge"]

_OPEN, _CLOSE = "<think>", "</think>"
_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.S)


@dataclass(frozen=True)
class Extraction:
    """The story part of a response. ``problem`` says why ``format_ok`` is False."""

    story: str
    reasoning: str
    format_ok: bool
    problem: str | None = None


def extract_story(response: str, *, thinking: bool) -> Extraction:
    """Split ``response`` into reasoning and story; the story is the text after the LAST ``</think>``.

    With thinking on, a missing ``</think>`` is a format failure: the story is empty (the
    reasoning is never judged). A ``<think>`` opened again after the last ``</think>`` is a
    failure too. With thinking off, think blocks are removed; an unclosed ``<think>`` is a failure
    (its text is not treated as story).
    """
    if _CLOSE in response:
        head, _, tail = response.rpartition(_CLOSE)
        reasoning = head.replace(_OPEN, "").strip()
        if _OPEN in tail:
            return Extraction("", reasoning, False, "a <think> block opens after the final </think>")
        return Extraction(tail.strip(), reasoning, True)
    if thinking:
        return Extraction("", response.strip(), False, "thinking is on but the response has no </think>")
    if _OPEN in response:
        head, _, tail = response.partition(_OPEN)
        return Extraction(head.strip(), tail.strip(), False, "unclosed <think> block")
    return Extraction(response.strip(), "", True)


# Chat-template control tokens of common model families, and think tags.
_SPECIAL = re.compile(
    r"<\|[^|<>\n]{0,64}\|>"
    r"|</?(?:start_of_turn|end_of_turn|think|s|bos|eos|pad)>"
    r"|\[/?(?:INST|SYS)\]|<<\/?SYS>>",
    re.I,
)


def sanitize_for_judge(story: str) -> str:
    """Remove chat-template special tokens (``<|im_end|>``, ``<start_of_turn>``, ``<s>``, ...) and
    think tags from ``story`` so it cannot fake a turn boundary in the judge's prompt."""
    out = _THINK_BLOCK.sub("", story)
    prev = None
    while prev != out:  # removal can join fragments into a new token ("<|im_<|x|>end|>")
        prev, out = out, _SPECIAL.sub("", out)
    return out.strip()
