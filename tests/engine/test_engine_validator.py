"""The stdlib-only validator runs OpenRLHF 0.11.2's real `__main__` block."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from polaris.engine.openrlhf import (
    EngineUnavailable,
    installed_openrlhf_version,
    openrlhf_source_dir,
    validate_argv,
)

sys.path.insert(0, str(Path(__file__).parent))
from grpo_argv import grpo_argv  # noqa: E402


def test_good_grpo_argv_passes_and_is_rewritten():
    r = validate_argv(grpo_argv())
    assert r.ok, r.error
    assert r.error is None and r.error_kind is None
    a = r.args
    # agent_func_path forces the remote URL to "agent", then it is split on commas
    assert a.reward.remote_url == ["agent"]
    assert a.rollout.vllm_generate_batch_size == 32  # defaulted to rollout.batch_size
    assert list(a.actor.eps_clip_low_high) == [0.2, 0.27]
    assert a.critic.model_name_or_path is None  # dropped for non-gae estimators
    assert a.vllm.enable_sleep is True and a.train.colocate_all is True
    assert r.warnings == []
    json.dumps(r.to_dict())  # JSON-able


def test_remote_urls_are_split_without_agent():
    r = validate_argv(grpo_argv(train__agent_func_path=None, reward__remote_url="http://a:1,http://b:2"))
    assert r.ok, r.error
    assert r.args.reward.remote_url == ["http://a:1", "http://b:2"]


def test_unknown_flag_is_an_argparse_error():
    r = validate_argv(grpo_argv() + ["--generate_max_len", "1024"])
    assert not r.ok and r.error_kind == "argparse"
    assert "unrecognized arguments" in r.error and "--generate_max_len" in r.error
    assert r.flag == "--generate_max_len"
    assert "usage:" not in r.error  # cleaned to the message line


def test_removed_0_11_1_flag_is_rejected():
    r = validate_argv(grpo_argv(algo__advantage__is_correction_enable=True))
    assert not r.ok and r.flag == "--algo.advantage.is_correction_enable"


def test_group_norm_with_one_sample_fails_the_assert():
    r = validate_argv(grpo_argv(rollout__n_samples_per_prompt=1))
    assert not r.ok and r.error_kind == "assert"
    assert r.error == "group_norm requires n_samples_per_prompt > 1"
    assert r.flag == "--rollout.n_samples_per_prompt"
    assert "--algo.advantage.estimator" in r.flags
    src = (openrlhf_source_dir() / "cli" / "train_ppo_ray.py").read_text().splitlines()
    assert "assert" in "\n".join(src[r.lineno - 3 : r.lineno + 1])


def test_bad_choice_and_bad_type():
    r = validate_argv(grpo_argv(algo__advantage__estimator="grpo"))
    assert not r.ok and r.error_kind == "argparse" and "invalid choice: 'grpo'" in r.error
    assert r.flag == "--algo.advantage.estimator"
    r = validate_argv(grpo_argv(rollout__batch_size="lots"))
    assert not r.ok and "invalid int value" in r.error and r.flag == "--rollout.batch_size"


def test_vllm_sleep_without_colocate_is_reported_as_a_rewrite():
    r = validate_argv(grpo_argv(train__colocate_all=None))
    assert r.ok, r.error
    assert r.args.vllm.enable_sleep is False
    assert any("enable_sleep to False" in w for w in r.warnings)


def test_ring_attention_forces_packing_with_a_warning():
    r = validate_argv(grpo_argv(ds__ring_attn_size=2))
    assert r.ok, r.error
    assert r.args.ds.packing_samples is True
    assert any(w.startswith("[Warning]") and "packing_samples" in w for w in r.warnings)


def test_crash_inside_the_block_is_an_exception_result():
    # gae without a reward model or URL: the block calls None.split(",")
    r = validate_argv(grpo_argv(algo__advantage__estimator="gae", train__agent_func_path=None))
    assert not r.ok and r.error_kind == "exception"
    assert "AttributeError" in r.error and "train_ppo_ray.py:" in r.error
    assert r.flag == "--reward.model_name_or_path"


def test_partial_rollout_needs_async():
    r = validate_argv(grpo_argv(train__partial_rollout_enable=True))
    assert not r.ok and r.error_kind == "assert" and r.flag == "--train.partial_rollout_enable"


def test_help_is_not_a_crash():
    r = validate_argv(["--help"])
    assert not r.ok and r.error_kind == "argparse" and "help" in r.error


def test_calls_are_independent_and_restore_process_state():
    before_argv = list(sys.argv)
    had_config = "openrlhf.utils.config" in sys.modules
    r1 = validate_argv(grpo_argv(algo__advantage__is_correction_threshold="2.0"))
    assert r1.ok and r1.args.algo.advantage.is_correction_threshold == [0.0, 2.0]
    assert not validate_argv(grpo_argv(rollout__n_samples_per_prompt=1)).ok
    r2 = validate_argv(grpo_argv())
    # the default list was not mutated by the first run's insert()
    assert r2.ok and r2.args.algo.advantage.is_correction_threshold == [0.5, 5.0]
    assert sys.argv == before_argv
    assert ("openrlhf.utils.config" in sys.modules) == had_config
    assert "modelscope.utils.hf_util" not in sys.modules


def test_version_and_source_dir():
    assert installed_openrlhf_version() == "0.11.2"
    assert (openrlhf_source_dir() / "cli" / "train_ppo_ray.py").is_file()


def test_missing_openrlhf_raises_engine_unavailable(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "openrlhf" else real(name, *a))
    with pytest.raises(EngineUnavailable, match=r"pip install --no-deps openrlhf==0\.11\.2"):
        validate_argv(grpo_argv())


def test_no_heavy_imports_in_a_fresh_interpreter():
    code = textwrap.dedent(
        f"""
        import sys, json
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from grpo_argv import grpo_argv
        from polaris.engine.openrlhf import validate_argv, list_flags, check_train_time
        r = validate_argv(grpo_argv())
        assert r.ok, r.error
        check_train_time(r.args, reward_range=(-3, 3), prompt_tokens=256, model_id="Qwen/Qwen3.5-9B")
        assert len(list_flags()) > 100
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] in ("torch", "ray", "vllm", "deepspeed", "transformers", "sympy", "openrlhf"))
        print(json.dumps(heavy))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
