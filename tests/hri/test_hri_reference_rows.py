"""Reference-row edge cases of the executor: thinking off, references too long for the budget, left truncation."""

import asyncio
import logging

import pytest
from hri_fixtures import PLUGIN, PROMPT, REASONING, REFERENCE, label, policy_responder, write_executor_config
from hri_reward_server import RewardServer
from openrlhf_harness import FakeLLM, SamplingParams, TinyTokenizer, make_args, make_rollout_actor, openrlhf_real  # noqa: F401

N = 4
SAMPLE = "a good sample<|im_end|>"
NO_THINK_PROMPT = PROMPT + "<think>\n\n</think>\n\n"  # what a non-thinking chat template renders


@pytest.fixture
def server():
    with RewardServer() as s:
        yield s


def _run(tmp_path, monkeypatch, server, *, prompt=PROMPT, max_tokens=None, max_length=512, lab=None, **cfg):
    from openrlhf.trainer.ray.vllm_engine import _load_agent_executor

    monkeypatch.setenv("POLARIS_HRI_HOOK_INSTALLED", "1")
    monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG", str(write_executor_config(tmp_path, server.url, n=N, **cfg)))
    tok = TinyTokenizer()
    llm = FakeLLM(policy_responder(tok, [SAMPLE]))
    actor = make_rollout_actor(_load_agent_executor(str(PLUGIN)), llm)
    rows = asyncio.run(actor.generate_responses(
        prompt=prompt, label=lab or label("x"), sampling_params=SamplingParams(max_tokens=max_tokens),
        max_length=max_length, hf_tokenizer=tok, num_samples=N))
    return tok, llm, rows


def _action(row):
    start, end = row["action_ranges"][0]
    return row["observation_tokens"][start:end]


@pytest.mark.parametrize("reasoning", [REASONING, None])
def test_thinking_off_reference_is_the_story_alone(openrlhf_real, tmp_path, monkeypatch, server, reasoning):
    tok, llm, rows = _run(tmp_path, monkeypatch, server, prompt=NO_THINK_PROMPT, thinking=False,
                          lab=label("x", reasoning=reasoning))
    ref = rows[-1]
    assert ref["extra_logs"]["is_reference"] == 1.0
    assert _action(ref) == tok.encode(REFERENCE) + [tok.convert_tokens_to_ids("<|im_end|>")]
    assert ref["observation_tokens"][:ref["action_ranges"][0][0]] == tok.encode(NO_THINK_PROMPT) == llm.calls[0][0]
    (req,) = [r for r in server.requests if r["is_reference"]]
    assert req["response"] == REFERENCE and req["think_tokens"] is None


def test_thinking_on_does_not_repeat_an_opened_think_block(openrlhf_real, tmp_path, monkeypatch, server):
    tok, _, rows = _run(tmp_path, monkeypatch, server, prompt=PROMPT + "<think>\n")
    expected = tok.encode(f"{REASONING}\n</think>\n\n{REFERENCE}") + [tok.convert_tokens_to_ids("<|im_end|>")]
    assert _action(rows[-1]) == expected


def test_thinking_on_without_reasoning_is_a_data_error(openrlhf_real, tmp_path, monkeypatch, server):
    from polaris.hri.executor import LabelError

    with pytest.raises(LabelError, match="no reasoning trace"):
        _run(tmp_path, monkeypatch, server, lab=label("x", reasoning=None))


def _ref_len(tok) -> int:
    return len(tok.encode(f"<think>\n{REASONING}\n</think>\n\n{REFERENCE}")) + 1  # + end of turn


@pytest.mark.parametrize("explicit_max_tokens", [False, True])
@pytest.mark.parametrize("over", [0, 1])
def test_reference_longer_than_the_budget_becomes_a_policy_sample(openrlhf_real, tmp_path, monkeypatch, server,
                                                                  caplog, explicit_max_tokens, over):
    """Budget = max_tokens, or max_length - prompt when unset. Exactly fitting: kept whole; one token over:
    never cut, the slot is sampled and logged as reference_dropped."""
    tok = TinyTokenizer()
    p_len, r_len = len(tok.encode(PROMPT)), _ref_len(tok)
    budget = r_len - over
    kw = {"max_tokens": budget, "max_length": 512} if explicit_max_tokens else {"max_length": p_len + budget}
    with caplog.at_level(logging.WARNING, logger="polaris.hri.executor"):
        tok, llm, rows = _run(tmp_path, monkeypatch, server, **kw)
    last = rows[-1]
    if not over:
        assert last["extra_logs"]["is_reference"] == 1.0 and last["extra_logs"]["reference_dropped"] == 0.0
        assert len(_action(last)) == r_len and _action(last)[-1] == tok.convert_tokens_to_ids("<|im_end|>")
        assert len(llm.calls) == N - 1
        # OpenRLHF keeps the whole row (it cuts at max_len)
        from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator

        gen = SamplesGenerator.__new__(SamplesGenerator)
        gen.args = make_args(N)
        exp = gen._process_response_into_experience(last, max_len=kw["max_length"])
        assert int(exp.action_mask.sum()) == r_len
        return
    assert [r["extra_logs"]["is_reference"] for r in rows] == [0.0] * N
    assert [r["extra_logs"]["reference_dropped"] for r in rows] == [0.0] * (N - 1) + [1.0]
    assert last["extra_logs"]["ref_reward_x_n"] == 0.0
    assert len(llm.calls) == N  # the slot was sampled
    assert _action(last) == tok.encode(SAMPLE)
    assert not [r for r in server.requests if r["is_reference"]]
    assert f"reference is {r_len} tokens, above the {budget}-token response budget" in caplog.text


def test_reference_never_exceeds_max_length_when_max_tokens_leaves_no_prompt_room(openrlhf_real, tmp_path,
                                                                                  monkeypatch, server):
    """max_tokens >= max_length: OpenRLHF keeps the whole prompt (ids[-0:]), so a reference within
    max_tokens can still overrun max_length, where OpenRLHF would cut it without an end-of-turn."""
    tok = TinyTokenizer()
    r_len = _ref_len(tok)
    max_length = len(tok.encode(PROMPT)) + r_len - 1
    _, _, rows = _run(tmp_path, monkeypatch, server, max_tokens=max_length, max_length=max_length)
    assert rows[-1]["extra_logs"]["reference_dropped"] == 1.0
    assert all(len(r["observation_tokens"]) <= max_length for r in rows if r["extra_logs"]["is_reference"])


def test_left_truncated_prompt_is_the_same_for_reference_and_samples(openrlhf_real, tmp_path, monkeypatch, server):
    tok = TinyTokenizer()
    prompt_ids = tok.encode(PROMPT)
    r_len = _ref_len(tok)
    keep = len(prompt_ids) - 5  # max_length - max_tokens: the prompt loses its first 5 tokens
    _, llm, rows = _run(tmp_path, monkeypatch, server, max_tokens=r_len, max_length=keep + r_len)
    ref = rows[-1]
    assert ref["extra_logs"]["is_reference"] == 1.0
    assert ref["action_ranges"] == [(keep, keep + r_len)]
    assert ref["observation_tokens"][:keep] == prompt_ids[5:]
    assert all(ids == prompt_ids[5:] for ids, _ in llm.calls)  # what the policy samples were given
    assert len(ref["observation_tokens"]) == keep + r_len
