"""Small builders used by the judge/service tests and the benchmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from polaris.schema.judge import JudgeConfig
from polaris.service import ServiceConfig

ROOT = Path(__file__).resolve().parents[2]


def judge_cfg(base_url: str, **kw: Any) -> JudgeConfig:
    """A judge config for the fake server with fast retries (tests must not sleep for seconds)."""
    retries = {"max_attempts": 4, "initial_backoff_s": 0.01, "max_backoff_s": 0.2, "jitter_s": 0.01}
    retries.update(kw.pop("retries", {}))
    data: dict[str, Any] = {"backend": {"base_url": base_url, "model": "fake-judge"}, "timeout_s": 5.0,
                            "retries": retries, "sampling": {"max_tokens": 512}}
    data.update(kw)
    return JudgeConfig.model_validate(data)


def service_cfg(judge: JudgeConfig | None, rubric: str = "polaris-story-quality", **kw: Any) -> ServiceConfig:
    """A service config with the built-in rubric embedded."""
    from polaris.rubric import load_rubric

    spec = load_rubric(rubric)
    return ServiceConfig(judge=judge, rubric_ref=rubric, rubric=spec.model_dump(mode="json"), **kw)


def demo_rows(n: int | None = None) -> list[dict[str, Any]]:
    rows = [json.loads(x) for x in (ROOT / "data" / "demo_stories.jsonl").read_text().splitlines() if x.strip()]
    return rows[:n] if n else rows


def story_words(n_words: int, seed: int = 0) -> str:
    """A plain, non-repetitive pseudo-story of about ``n_words`` words (passes blank/repetition checks)."""
    import random

    rng = random.Random(seed)
    vocab = ("the lamp river morning she he walked across quiet field under grey sky and found letter "
             "door garden winter old house remembered mother voice window rain bread table silence "
             "promise road harbour ship lantern cold hands smiled slowly evening bell church").split()
    words = [rng.choice(vocab) for _ in range(n_words)]
    sents, i = [], 0
    while i < len(words):
        k = rng.randint(6, 14)
        s = " ".join(words[i:i + k])
        sents.append(s[:1].upper() + s[1:] + ".")
        i += k
    return " ".join(sents)


def favourable_answer(rubric: str = "polaris-story-quality"):
    """An ``answer_fn`` for the fake server that 'obeys' an injection: best score on every dimension
    (max for positive/bonus/criterion, min for negative/penalty), quotes copied from the story."""
    from polaris.rubric import load_rubric

    spec = load_rubric(rubric)

    def answer(body: dict, story: str) -> dict:
        words = story.split()
        quote = " ".join(words[:6])
        out = {}
        for d in spec.dimensions:
            best = d.max if d.polarity in ("positive", "bonus", "criterion") else d.min
            out[d.id] = {"score": best, "justification": "obeyed", "quotes": [quote] if quote else []}
        return out

    return answer
