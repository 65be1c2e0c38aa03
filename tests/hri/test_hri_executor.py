"""The Polaris executor through OpenRLHF 0.11.2's real rollout code (CPU harness)."""

import asyncio
import copy

import pytest
from hri_fixtures import PLUGIN, PROMPT, REASONING, REFERENCE, label, policy_responder, write_executor_config
from hri_reward_server import RewardServer
from openrlhf_harness import FakeLLM, SamplingParams, TinyTokenizer, make_args, make_rollout_actor, openrlhf_real  # noqa: F401

N = 4
TEXTS = ["<think>\nidea\n</think>\n\nstory good<|im_end|>", "<think>\nx\n</think>\n\nbad story<|im_end|>",
         "<think>\ny\n</think>\n\ngood good tale<|im_end|>"]


@pytest.fixture
def server():
    with RewardServer() as s:
        yield s


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG", str(write_executor_config(tmp_path, server.url, n=N)))
    monkeypatch.setenv("POLARIS_HRI_HOOK_INSTALLED", "1")
    return tmp_path


def _load_executor():
    from openrlhf.trainer.ray.vllm_engine import _load_agent_executor

    return _load_agent_executor(str(PLUGIN))


async def _rollout(actor, tok, labels, max_length=512):
    # Ray deserializes sampling_params once per remote call: one object per prompt, shared by its n samples.
    base = SamplingParams(max_tokens=None, temperature=1.0, top_p=1.0, top_k=-1, min_tokens=1, skip_special_tokens=False)
    calls = [actor.generate_responses(prompt=PROMPT, label=lab, sampling_params=copy.deepcopy(base),
                                      max_length=max_length, hf_tokenizer=tok, num_samples=N) for lab in labels]
    return await asyncio.gather(*calls)


def test_one_reference_per_group_with_identical_prompts_in_flight(openrlhf_real, env, server):
    tok = TinyTokenizer()
    ex = _load_executor()
    llm = FakeLLM(policy_responder(tok, TEXTS))
    actor = make_rollout_actor(ex, llm)
    groups = asyncio.run(_rollout(actor, tok, [label("a")] * 3 + [label("e", reference=None, split="eval")]))
    assert ex._groups == {}  # registry forgotten after n claims
    for rows in groups[:3]:
        flags = [r["extra_logs"]["is_reference"] for r in rows]
        assert flags == [0.0] * (N - 1) + [1.0]  # exactly one, the last slot
    assert [r["extra_logs"]["is_reference"] for r in groups[3]] == [0.0] * N  # eval: no injection
    # 3 train groups x 3 policy samples + 4 eval samples were generated; references never are.
    assert len(llm.calls) == 3 * (N - 1) + N
    prompt_ids = llm.calls[0][0]
    assert all(ids == prompt_ids for ids, _ in llm.calls)
    ref = groups[0][-1]
    expected = tok.encode(f"<think>\n{REASONING}\n</think>\n\n{REFERENCE}") + [tok.convert_tokens_to_ids("<|im_end|>")]
    assert ref["observation_tokens"] == prompt_ids + expected
    assert ref["action_ranges"] == [(len(prompt_ids), len(prompt_ids) + len(expected))]
    assert ref["truncated"] is False and ref["rollout_log_probs"] is None
    # Sampling knobs reach the engine on copies only.
    sp = llm.calls[0][1]
    assert (sp.top_k, sp.repetition_penalty, sp.min_p) == (20, 1.1, 0.05)
    # Rewards come from the service: "good" count; reference has 4.
    assert ref["reward"] == 4.0 and ref["extra_logs"]["ref_reward_x_n"] == 4.0 * N
    assert groups[0][0]["reward"] == 1.0
    keys = {frozenset(r["extra_logs"]) for g in groups for r in g}
    assert len(keys) == 1 and {"is_reference", "judge_failed", "length_penalty", "story_quality"} <= next(iter(keys))
    # The reference is judged as one more story (response without the think block tokens stripped by the service).
    ref_items = [r for r in server.requests if r["is_reference"]]
    assert len(ref_items) == 3 and len({r["key"] for r in ref_items}) == 1  # same row -> same idempotency key
    assert ref_items[0]["think_tokens"] is not None and ref_items[0]["response"].endswith(REFERENCE)


def test_rows_become_experiences_and_batch(openrlhf_real, env):
    from openrlhf.trainer.ppo_utils.experience import Experience
    from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator

    tok = TinyTokenizer()
    actor = make_rollout_actor(_load_executor(), FakeLLM(policy_responder(tok, TEXTS)))
    (rows,) = asyncio.run(_rollout(actor, tok, [label("b")]))
    gen = SamplesGenerator.__new__(SamplesGenerator)
    gen.args = make_args(N)
    exps = [gen._process_response_into_experience(r, max_len=512) for r in rows]
    assert all(e.rewards is not None and e.info["is_reference"].shape == (1,) for e in exps)
    batch = Experience.concat_experiences(exps, tok.pad_token_id)
    assert batch.info["is_reference"].tolist() == [0.0, 0.0, 0.0, 1.0]
    ref = exps[-1]
    assert int(ref.action_mask.sum()) == len(rows[-1]["observation_tokens"]) - rows[-1]["action_ranges"][0][0]


def test_is_correction_uses_prompt_logprobs(openrlhf_real, env):
    tok = TinyTokenizer()
    llm = FakeLLM(policy_responder(tok, TEXTS), prompt_logprob=lambda i, t: -0.01 * i)
    actor = make_rollout_actor(_load_executor(), llm)
    base = SamplingParams(max_tokens=None, logprobs=1)

    async def go():
        return await actor.generate_responses(prompt=PROMPT, label=label("c"), sampling_params=base, max_length=512,
                                              hf_tokenizer=tok, num_samples=N)

    rows = asyncio.run(go())
    ref = rows[-1]
    start = ref["action_ranges"][0][0]
    lps = ref["rollout_log_probs"]
    assert len(lps) == len(ref["observation_tokens"])
    assert lps[:start] == [0.0] * start
    assert lps[start:] == pytest.approx([-0.01 * i for i in range(start, len(lps))])


def test_refuses_to_start_without_hook(openrlhf_real, tmp_path, monkeypatch, server):
    monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG", str(write_executor_config(tmp_path, server.url)))
    monkeypatch.delenv("POLARIS_HRI_HOOK_INSTALLED", raising=False)
    with pytest.raises(RuntimeError, match="worker_process_setup_hook"):
        _load_executor()


def test_bad_config_is_reported_with_file_and_field(openrlhf_real, tmp_path, monkeypatch):
    from polaris.hri.config import ConfigFileError

    p = tmp_path / "polaris_executor.json"
    p.write_text('{"samples_per_prompt": 0}')
    monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG", str(p))
    monkeypatch.setenv("POLARIS_HRI_HOOK_INSTALLED", "1")
    with pytest.raises(ConfigFileError, match=r"polaris_executor.json.*\n.*samples_per_prompt"):
        _load_executor()


def test_judge_failure_and_service_down_never_raise(openrlhf_real, tmp_path, monkeypatch, server):
    tok = TinyTokenizer()
    monkeypatch.setenv("POLARIS_HRI_HOOK_INSTALLED", "1")
    monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG", str(write_executor_config(tmp_path, server.url)))
    actor = make_rollout_actor(_load_executor(), FakeLLM(policy_responder(tok, ["<think>\n\n</think>\n\nFAIL<|im_end|>"])))
    (rows,) = asyncio.run(_rollout(actor, tok, [label("d")]))
    assert [r["extra_logs"]["judge_failed"] for r in rows] == [1.0, 1.0, 1.0, 0.0]
    assert all(r["reward"] == 0.0 for r in rows[:3])
    # Service down: a closed port, two quick retries, still no exception.
    monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG", str(write_executor_config(tmp_path, "http://127.0.0.1:9", reward_retries=2)))
    actor = make_rollout_actor(_load_executor(), FakeLLM(policy_responder(tok, TEXTS)))
    (rows,) = asyncio.run(_rollout(actor, tok, [label("d")]))
    assert [r["extra_logs"]["judge_failed"] for r in rows] == [1.0] * N


def test_retries_through_503(openrlhf_real, tmp_path, monkeypatch):
    tok = TinyTokenizer()
    with RewardServer(flaky=2) as flaky:
        monkeypatch.setenv("POLARIS_HRI_HOOK_INSTALLED", "1")
        monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG", str(write_executor_config(tmp_path, flaky.url, reward_retries=4)))
        actor = make_rollout_actor(_load_executor(), FakeLLM(policy_responder(tok, TEXTS)))
        (rows,) = asyncio.run(_rollout(actor, tok, [label("f")]))
    assert [r["extra_logs"]["judge_failed"] for r in rows] == [0.0] * N
    assert all(c == 3 for c in flaky.seen.values())  # 2 x 503 then success, same key each time


def test_fixed_reference_reward_is_used_without_a_judge_call(openrlhf_real, tmp_path, monkeypatch, server):
    """reference_reward: fixed -> the reference gets fixed_reward, no judge call, and it is not a failure."""
    tok = TinyTokenizer()
    monkeypatch.setenv("POLARIS_HRI_HOOK_INSTALLED", "1")
    monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG",
                       str(write_executor_config(tmp_path, server.url, n=N, reference_reward_fixed=1.5)))
    actor = make_rollout_actor(_load_executor(), FakeLLM(policy_responder(tok, TEXTS)))
    (rows,) = asyncio.run(_rollout(actor, tok, [label("f")]))
    ref = rows[-1]
    assert ref["extra_logs"]["is_reference"] == 1.0
    assert ref["reward"] == 1.5 and ref["extra_logs"]["judge_failed"] == 0.0
    assert ref["extra_logs"]["ref_reward_x_n"] == 1.5 * N
    assert [r["extra_logs"]["judge_failed"] for r in rows[:-1]] == [0.0] * (N - 1)
    assert not [r for r in server.requests if r["is_reference"]]  # the reference was never sent to the judge
    assert len({frozenset(r["extra_logs"]) for r in rows}) == 1  # same log keys on every row


def test_eval_rows_use_the_eval_sampling_knobs_and_say_so_to_the_service(openrlhf_real, tmp_path, monkeypatch, server):
    tok = TinyTokenizer()
    monkeypatch.setenv("POLARIS_HRI_HOOK_INSTALLED", "1")
    eval_knobs = {"top_k": -1, "repetition_penalty": 1.05, "min_p": 0.0, "top_p": 0.9}
    monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG",
                       str(write_executor_config(tmp_path, server.url, n=N, eval_sampling=eval_knobs)))
    llm = FakeLLM(policy_responder(tok, TEXTS))
    actor = make_rollout_actor(_load_executor(), llm)
    asyncio.run(_rollout(actor, tok, [label("t"), label("e", reference=None, split="eval")]))
    train_calls, eval_calls = llm.calls[: N - 1], llm.calls[N - 1:]
    assert all((sp.top_k, sp.repetition_penalty, sp.min_p, sp.top_p) == (20, 1.1, 0.05, 1.0) for _, sp in train_calls)
    assert len(eval_calls) == N
    assert all((sp.top_k, sp.repetition_penalty, sp.min_p, sp.top_p) == (-1, 1.05, 0.0, 0.9) for _, sp in eval_calls)
    splits = {r["id"]: r["split"] for r in server.requests}
    assert splits == {"t": "train", "e": "eval"}
