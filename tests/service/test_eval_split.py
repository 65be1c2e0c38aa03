"""Evaluation rows use reward.eval_weights; out-of-range targets and splits are refused with 400."""

from __future__ import annotations

import asyncio

from judge_helpers import judge_cfg, service_cfg, story_words
from openai_server import FakeOpenAIServer
from service_helpers import running_service
from test_service import post

from polaris.schema.reward import RewardConfig, RewardWeights


def test_eval_rows_use_eval_weights_and_bad_values_are_400(tmp_path):
    train_w = RewardWeights(story_quality=1.0, repetition=1.5, length=0.8, blank=1.0)
    eval_w = RewardWeights(story_quality=1.0, repetition=0.8, length=0.2, blank=1.0, overlong=0.0)
    reward = RewardConfig(weights=train_w, eval_weights=eval_w, word_rule="unicode_words")
    # A story far too short for its target: the length penalty makes train and eval rewards differ.
    item = {"id": "x", "judge_prompt": "Write a story.", "response": "<think>\nplan\n</think>\n" + story_words(200, 3),
            "target_words": 3000}

    async def go():
        srv = await FakeOpenAIServer(score_mode="random").start()
        try:
            cfg = service_cfg(judge_cfg(srv.base_url)).model_copy(update={"reward": reward})
            async with running_service(cfg, tmp_path) as url:
                tr = await post(url, "/v1/score", {"items": [{**item, "key": "k-train", "split": "train"}]})
                ev = await post(url, "/v1/score", {"items": [{**item, "key": "k-eval", "split": "eval"}]})
                bad_t = await post(url, "/v1/score", {"items": [{**item, "target_words": -100}]})
                bad_s = await post(url, "/v1/score", {"items": [{**item, "split": "test"}]})
                bad_l = await post(url, "/get_reward", {"query": ["p story"], "prompts": ["p"],
                                                        "labels": [{"id": "a", "target_words": -100}]})
                return tr, ev, bad_t, bad_s, bad_l, srv.calls
        finally:
            await srv.stop()

    (st, tr), (se, ev), (sbt, bt), (sbs, bs), (sbl, bl), calls = asyncio.run(go())
    assert st == se == 200
    rt, re_ = tr["results"][0], ev["results"][0]
    assert rt["story_quality"] == re_["story_quality"]  # one judgment, cached by content
    comps = rt["components"]
    sq = rt["story_quality"]
    expect_train = sq - (1.5 * comps["repetition"] + 0.8 * comps["length_penalty"] + comps["blank"])
    expect_eval = sq - (0.8 * comps["repetition"] + 0.2 * comps["length_penalty"] + comps["blank"])
    clip = lambda v: max(-2.0, min(2.0, v))  # noqa: E731
    assert comps["length_penalty"] > 0
    assert abs(rt["reward"] - clip(expect_train)) < 1e-9
    assert abs(re_["reward"] - clip(expect_eval)) < 1e-9 and re_["reward"] != rt["reward"]
    assert calls == 1
    assert sbt == 400 and "target_words" in str(bt)
    assert sbs == 400 and "split" in str(bs)
    assert sbl == 400 and "labels[0].target_words" in str(bl)
