"""Helpers shared by the real-model tests: short demo excerpts and the test recipe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODEL_ALIAS = "gemma-3-270m"

_CLOSERS = "\"'\u201d\u2019)"


def excerpt(text: str, min_words: int, max_words: int) -> str:
    """The opening of ``text`` cut after a sentence end between ``min_words`` and ``max_words`` words."""
    words = text.split()[:max_words]
    ends = [i + 1 for i, w in enumerate(words) if i + 1 >= min_words and w.rstrip(_CLOSERS).endswith((".", "!", "?"))]
    return " ".join(words[: ends[-1] if ends else len(words)])


def demo_excerpts(n: int, *, skip: int = 0, min_words: int = 160, max_words: int = 200) -> list[dict[str, Any]]:
    """``n`` short excerpts of demo stories: {id, prompt, story, words}."""
    rows = [json.loads(x) for x in (ROOT / "data" / "demo_stories.jsonl").read_text(encoding="utf-8").splitlines()
            if x.strip()]
    out = []
    for row in rows[skip: skip + n]:
        story = excerpt(row["reference"], min_words, max_words)
        out.append({"id": row["id"], "prompt": row["prompt"], "story": story, "words": len(story.split())})
    return out


def write_recipe(dest: Path, judge_url: str) -> Path:
    """A recipe extending ``tests/llm/llm-recipe.yaml`` with the judge at ``judge_url``.

    The rubric path is given absolute: ``ServiceConfig.from_recipe`` does not resolve a
    recipe-relative ``rubric.path`` (reported to the service author).
    """
    text = (
        f"extends: {json.dumps(str(HERE / 'llm-recipe.yaml'))}\n"
        f"rubric:\n  path: {json.dumps(str(HERE / 'tiny-rubric.yaml'))}\n"
        f"judge:\n  backend:\n    base_url: {json.dumps(judge_url)}\n    model: {MODEL_ALIAS}\n"
    )
    dest.write_text(text, encoding="utf-8")
    return dest
