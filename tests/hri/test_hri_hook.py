"""The trainer-side hook patches OpenRLHF 0.11.2's real compute_advantages_and_returns."""

import asyncio
import copy
import sys

import pytest
import torch
from hri_fixtures import (PROMPT, hook_rows, label, per_row, policy_responder, row_advantages, write_executor_config,
                          write_hook_config)
from hri_reward_server import RewardServer
from openrlhf_harness import (FakeLLM, SamplingParams, TinyTokenizer, make_args, make_experience_maker,  # noqa: F401
                              make_rollout_actor, openrlhf_real, openrlhf_stubs)

from polaris.hri import group_advantages, reference_weight
from polaris.hri import hook as hri_hook
from polaris.hri.config import HookError

N = 4


def _experiences(rewards, is_ref, failed=None, n=N, micro=3, lengths=None):
    """Real Experience rows (as SamplesGenerator makes them), batched like split_rollout_samples."""
    from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator

    gen = SamplesGenerator.__new__(SamplesGenerator)
    gen.args = make_args(n)
    rows = []
    for i, (r, ref) in enumerate(zip(rewards, is_ref)):
        plen, alen = 3, (lengths[i] if lengths else 2 + i % 3)
        f = failed[i] if failed else 0.0
        rows.append(gen._process_response_into_experience({
            "observation_tokens": list(range(1, plen + alen + 1)), "action_ranges": [(plen, plen + alen)],
            "rollout_log_probs": None, "prompt": PROMPT, "label": "{}", "reward": r, "scores": r, "truncated": False,
            "extra_logs": {"is_reference": float(ref), "judge_failed": f, "story_quality": r,
                           "ref_reward_x_n": n * r if ref else 0.0}}, max_len=512))
    maker = make_experience_maker(make_args(n, micro_batch_size=micro))
    batches = maker.split_rollout_samples(rows)
    for b in batches:
        b.kl = torch.zeros_like(b.action_mask, dtype=torch.float32)
    return maker, batches


REWARDS = [1.0, 2.0, 4.0, 6.0, 3.0, 3.5, 0.0, 1.0]
IS_REF = [0, 0, 0, 1, 0, 0, 0, 1]


@pytest.mark.parametrize("exclude", [True, False])
@pytest.mark.parametrize("step", [0, 5, 40])
def test_hooked_advantages_match_group_advantages(openrlhf_real, install_hook, exclude, step):
    install_hook(exclude_reference_from_stats=exclude)
    maker, batches = _experiences(REWARDS, IS_REF)
    maker._polaris_global_step = step
    out = maker.compute_advantages_and_returns(batches)
    w = reference_weight(step, peak=0.4, warmup_steps=15)
    expected = []
    for g in range(2):
        expected += group_advantages(REWARDS[g * N:(g + 1) * N], [bool(x) for x in IS_REF[g * N:(g + 1) * N]],
                                     exclude_reference_from_stats=exclude, reference_weight=w)
    assert row_advantages(out) == pytest.approx(expected, abs=1e-5)
    assert all(torch.equal(b.advantages, b.returns) for b in out)
    info = out[0].info
    assert float(info["hri/reference_weight"][0]) == pytest.approx(w)
    assert float(info["hri/reference_reward_mean"][0]) == pytest.approx(3.5)
    assert float(info["hri/reference_beats_all"][0]) == pytest.approx(0.5)
    assert all(len(v) == len(b.index) for b in out for v in b.info.values())


def test_equivalent_to_stock_group_norm_without_references(openrlhf_real, install_hook):
    install_hook(exclude_reference_from_stats=False, eps=1e-9)
    rewards = [1.0, 2.0, 4.0, 6.0, 3.0, 3.5, 0.0, 1.0]
    maker, batches = _experiences(rewards, [0] * 8)
    stock_batches = copy.deepcopy(batches)
    ours = maker.compute_advantages_and_returns(batches)
    from openrlhf.trainer.ppo_utils.experience_maker import RemoteExperienceMaker

    stock = RemoteExperienceMaker.compute_advantages_and_returns.__wrapped__(maker, stock_batches)
    for a, b in zip(ours, stock):
        assert torch.allclose(a.advantages, b.advantages, atol=1e-6)
        assert torch.allclose(a.info["return"], b.info["return"], atol=1e-6)
        assert torch.allclose(a.info["group_reward_std"], b.info["group_reward_std"])


def test_train_step_patch_records_global_step(openrlhf_real, install_hook):
    import types

    install_hook()
    mod = types.ModuleType("fake_trainer")

    class BasePPOTrainer:
        def train_step(self, rollout_samples, global_step):
            return self.experience_maker._polaris_global_step

    mod.BasePPOTrainer = BasePPOTrainer
    hri_hook.patch_trainer(mod)
    t = BasePPOTrainer()
    t.experience_maker = types.SimpleNamespace()
    assert t.train_step([], 7) == 7


def test_judge_failure_end_to_end_is_imputed(openrlhf_real, install_hook, tmp_path, monkeypatch):
    """Executor + real aiohttp service with a failing judgment -> hook imputes, nothing crashes."""
    install_hook(weight={"peak": 0.4, "warmup_steps": 0})
    from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator

    tok = TinyTokenizer()
    texts = ["<think>\n\n</think>\n\ngood<|im_end|>", "<think>\n\n</think>\n\nFAIL good<|im_end|>",
             "<think>\n\n</think>\n\ngood good good<|im_end|>"]
    with RewardServer() as server:
        monkeypatch.setenv("POLARIS_EXECUTOR_CONFIG", str(write_executor_config(tmp_path, server.url, n=N)))
        from openrlhf.trainer.ray.vllm_engine import _load_agent_executor

        from hri_fixtures import PLUGIN
        actor = make_rollout_actor(_load_agent_executor(str(PLUGIN)), FakeLLM(policy_responder(tok, texts)))
        rows = asyncio.run(actor.generate_responses(prompt=PROMPT, label=label("g"),
                                                    sampling_params=SamplingParams(max_tokens=None), max_length=512,
                                                    hf_tokenizer=tok, num_samples=N))
    assert [r["extra_logs"]["judge_failed"] for r in rows] == [0.0, 1.0, 0.0, 0.0]
    # the judge's SQ comes from the service's own field; only judged rows say so
    assert [r["extra_logs"]["judged"] for r in rows] == [1.0, 0.0, 1.0, 1.0]
    assert [r["extra_logs"]["story_quality"] for r in rows][:3] == [1.0, 0.0, 3.0]
    gen = SamplesGenerator.__new__(SamplesGenerator)
    gen.args = make_args(N)
    exps = [gen._process_response_into_experience(r, max_len=512) for r in rows]
    maker = make_experience_maker(make_args(N, micro_batch_size=2))
    batches = maker.split_rollout_samples(exps)
    for b in batches:
        b.kl = torch.zeros_like(b.action_mask, dtype=torch.float32)
    maker._polaris_global_step = 3
    out = maker.compute_advantages_and_returns(batches)
    rewards = [float(x) for b in out for x in b.rewards]
    assert rewards == pytest.approx([1.0, 2.0, 3.0, 4.0])  # failed policy row -> mean of ok policy rows (1, 3)
    assert float(out[0].info["hri/imputed"][0]) == 1.0
    expected = group_advantages(rewards, [False, False, False, True], exclude_reference_from_stats=True,
                                reference_weight=0.4)
    assert row_advantages(out) == pytest.approx(expected, abs=1e-5)


def test_abort_when_too_many_failures(openrlhf_real, install_hook):
    install_hook(abort_failed_fraction=0.25)
    maker, batches = _experiences(REWARDS, IS_REF, failed=[1, 1, 1, 0, 0, 0, 0, 0])
    with pytest.raises(HookError, match="3 of 8 rows .*abort_failed_fraction 0.25"):
        maker.compute_advantages_and_returns(batches)


def test_hook_disabled_hri_still_imputes_then_runs_stock(openrlhf_real, install_hook):
    install_hook(hri_enabled=False)
    maker, batches = _experiences([1.0, 0.0, 3.0, 5.0], [0, 0, 0, 0], failed=[0, 1, 0, 0])
    out = maker.compute_advantages_and_returns(batches)
    r = torch.tensor([1.0, 3.0, 3.0, 5.0])
    stock = ((r - r.mean()) / (r.std() + 1e-9)).tolist()
    assert row_advantages(out) == pytest.approx(stock, abs=1e-5)


def test_refuses_other_openrlhf_versions(tmp_path, monkeypatch):
    monkeypatch.setenv("POLARIS_HOOK_CONFIG", str(write_hook_config(tmp_path)))
    monkeypatch.setattr(hri_hook, "_installed_openrlhf_version", lambda: "0.11.1")
    with pytest.raises(HookError, match=r"OpenRLHF 0\.11\.1 installed.*exactly 0\.11\.2"):
        hri_hook.install()
    monkeypatch.setattr(hri_hook, "_installed_openrlhf_version", lambda: "0.11.2")
    monkeypatch.setenv("POLARIS_HOOK_CONFIG", str(write_hook_config(tmp_path, openrlhf_version="0.12.0")))
    with pytest.raises(HookError, match="0.12.0 compiled for"):
        hri_hook.install()
    import os
    assert "POLARIS_HRI_HOOK_INSTALLED" not in os.environ


def test_missing_hook_config_is_clear(monkeypatch):
    from polaris.hri.config import ConfigFileError

    monkeypatch.delenv("POLARIS_HOOK_CONFIG", raising=False)
    with pytest.raises(ConfigFileError, match="POLARIS_HOOK_CONFIG is not set"):
        hri_hook.install()


def test_harness_leaves_no_stub_modules():
    before = {k for k in sys.modules if k.split(".")[0] in ("vllm", "deepspeed", "openrlhf")}
    real_ray = sys.modules.get("ray")
    with openrlhf_stubs():
        import openrlhf.trainer.ppo_utils.experience_maker  # noqa: F401
        import vllm  # noqa: F401
    after = {k for k in sys.modules if k.split(".")[0] in ("vllm", "deepspeed", "openrlhf")}
    assert after == before
    assert sys.modules.get("ray") is real_ray


@pytest.mark.parametrize("penalties_known", [True, False])
def test_failed_judgment_gets_composite_of_batch_mean_story_quality(openrlhf_real, install_hook, penalties_known):
    """POLARIS's rule: SQ of a failed row = batch mean of the successful SQs, reward recomputed from its own penalties."""
    from polaris.reward import Components, composite
    from polaris.schema.reward import RewardConfig

    cfg = RewardConfig()
    install_hook(reward=cfg.model_dump(mode="json"), weight={"peak": 0.4, "warmup_steps": 0})
    sq = [0.5, None, 0.3, 0.4]  # row 1 failed
    pens = [
        {"repetition": 0.0, "blank": 0.0, "length_penalty": 0.1, "length_score_sl": 80.0, "overlong": 0.0, "think_penalty": 0.0},
        {"repetition": 0.2, "blank": 0.0, "length_penalty": 0.5, "length_score_sl": 40.0, "overlong": 0.0, "think_penalty": 0.1},
        {"repetition": 0.0, "blank": 0.0, "length_penalty": 0.0, "length_score_sl": 100.0, "overlong": 0.0, "think_penalty": 0.0},
        {"repetition": 0.0, "blank": 0.0, "length_penalty": 0.0, "length_score_sl": 95.0, "overlong": 0.0, "think_penalty": 0.0},
    ]

    def comps(p):
        return Components(words=0, story="", format_ok=True, injection_flag=False, **p)

    rewards = [composite(s, comps(p), cfg) if s is not None else 0.0 for s, p in zip(sq, pens)]
    got, sqs = _hook_rows([
        (r, {"is_reference": float(i == 3), "judge_failed": float(s is None), "story_quality": s or 0.0,
             "ref_reward_x_n": N * r if i == 3 else 0.0, "injection_flag": 0.0,
             "components_logged": 0.0 if (s is None and not penalties_known) else 1.0, **p})
        for i, (r, s, p) in enumerate(zip(rewards, sq, pens))])
    mean_sq = (0.5 + 0.3 + 0.4) / 3
    scalar_mean = sum(rewards[i] for i in (0, 2)) / 2  # successful policy rows
    if not penalties_known:  # the service was unreachable: no penalties to recompute from
        assert got[1] == pytest.approx(scalar_mean)
        return
    assert got[1] == pytest.approx(composite(mean_sq, comps(pens[1]), cfg))
    assert got[1] != pytest.approx(scalar_mean)
    assert [got[i] for i in (0, 2, 3)] == pytest.approx([rewards[0], rewards[2], rewards[3]])
    assert sqs[1] == pytest.approx(mean_sq)


def test_rows_never_judged_stay_out_of_the_imputed_mean(openrlhf_real, install_hook):
    """A floored row (injection, format) or a fixed-reward reference logs SQ 0 without a judge score:
    the failed row's SQ is the mean of the judged rows only (POLARIS: valid scores, not 0)."""
    from polaris.reward import Components, composite
    from polaris.schema.reward import RewardConfig

    cfg = RewardConfig()
    install_hook(reward=cfg.model_dump(mode="json"), weight={"peak": 0.4, "warmup_steps": 0})
    pens = {"repetition": 0.1, "blank": 0.0, "length_penalty": 0.2, "length_score_sl": 50.0, "overlong": 0.0,
            "think_penalty": 0.0}
    comps = Components(words=0, story="", format_ok=True, injection_flag=False, **pens)
    # row 0 judged 0.6, row 1 failed, row 2 floored (no judge: SQ logged 0), row 3 the reference judged 0.8
    spec = [(0.6, 1, 0), (None, 0, 1), (None, 0, 0), (0.8, 1, 0)]
    rows = []
    for i, (sq, judged, failed) in enumerate(spec):
        r = composite(sq, comps, cfg) if sq is not None else (cfg.injection_floor if not failed else 0.0)
        rows.append((r, {"is_reference": float(i == 3), "judge_failed": float(failed), "judged": float(judged),
                         "story_quality": sq or 0.0, "ref_reward_x_n": N * r if i == 3 else 0.0,
                         "injection_flag": float(i == 2), "components_logged": 1.0, **pens}))
    got, sqs = _hook_rows(rows)
    assert sqs[1] == pytest.approx(0.7)  # (0.6 + 0.8) / 2, not (0.6 + 0 + 0.8) / 3
    assert got[1] == pytest.approx(composite(0.7, comps, cfg))
    assert got[2] == pytest.approx(cfg.injection_floor) and sqs[2] == 0.0  # the floored row is untouched


def _hook_rows(rows_logs: list[tuple[float, dict]]) -> tuple[list[float], list[float]]:
    """The rewards and the story qualities per row after the hook."""
    out = hook_rows(rows_logs, n=N)
    return per_row(out, "rewards"), per_row(out, "story_quality")
