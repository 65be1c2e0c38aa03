"""Intake order: a sample that starts a judgment lets its judge call go out before the next
sample's intake (components, prompt) runs, so a burst of requests does not keep the judge idle."""

from __future__ import annotations

import asyncio

from judge_helpers import service_cfg, story_words

from polaris.judge._types import Judgment
from polaris.service._scorer import Item, RewardScorer


class _Judge:
    identity = "stub-judge"

    def __init__(self, events: list[str]) -> None:
        self.events = events

    async def judge(self, judge_prompt: str, story: str) -> Judgment:
        self.events.append(f"judge:{judge_prompt}")
        await asyncio.sleep(0.01)
        return Judgment(value=0.5, failed=False)


def test_each_started_judgment_runs_before_the_next_intake():
    events: list[str] = []
    scorer = RewardScorer(service_cfg(None), judge=_Judge(events))
    components = scorer._components

    def recording_components(item: Item):
        events.append(f"intake:{item.judge_prompt}")
        return components(item)

    scorer._components = recording_components  # type: ignore[method-assign]
    items = [Item(id=f"s{i}", judge_prompt=f"p{i}", response="<think>x</think>\n" + story_words(300, i),
                  target_words=300)
             for i in range(4)]

    async def main() -> list:
        return list(await asyncio.gather(*(scorer.score_one(it) for it in items)))

    results = asyncio.run(main())
    assert [r.story_quality for r in results] == [0.5] * 4
    assert events == [e for i in range(4) for e in (f"intake:p{i}", f"judge:p{i}")]
