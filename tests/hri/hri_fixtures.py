"""Shared setup for the HRI tests that run OpenRLHF's real code."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "plugins" / "polaris_executor.py"
PROMPT = "<|im_start|>user\nWrite a story of 50 words.<|im_end|>\n<|im_start|>assistant\n"
REFERENCE = "good good good good human story"
REASONING = "plan the arc"


def label(uid: str, reference=REFERENCE, split="train", reasoning=REASONING) -> str:
    return json.dumps({"id": uid, "target_words": 50, "split": split, "judge_prompt": "Write a story.",
                       "reference": reference, "reasoning": reasoning})


def write_executor_config(tmp_path, url, *, n=4, **extra) -> Path:
    cfg = {"samples_per_prompt": n, "reference_slots": 1, "hri_enabled": True, "thinking": True,
           "reward_service_url": url, "reward_token_env": None, "reward_timeout_s": 30,
           "sampling": {"top_k": 20, "repetition_penalty": 1.1, "min_p": 0.05},
           "end_of_turn_token": "<|im_end|>", "reward_keys": ["length_penalty"], "reward_backoff_s": 0.01}
    cfg.update(extra)
    p = tmp_path / "polaris_executor.json"
    p.write_text(json.dumps(cfg))
    return p


def write_hook_config(tmp_path, **extra) -> Path:
    cfg = {"openrlhf_version": "0.11.2", "hri_enabled": True, "exclude_reference_from_stats": True,
           "weight": {"peak": 0.4, "warmup_steps": 15, "decay_steps": 0, "final": 0.0, "schedule": "linear"},
           "clip_negative_reference": False, "normalize_by_std": True, "reward": {}, "abort_failed_fraction": 0.5}
    cfg.update(extra)
    p = tmp_path / "polaris_hook.json"
    p.write_text(json.dumps(cfg))
    return p


def policy_responder(tok, texts):
    """FakeLLM respond(): cycles through ``texts`` (each ends with the end-of-turn token)."""
    state = {"i": 0}

    def respond(prompt_ids, sp):
        text = texts[state["i"] % len(texts)]
        state["i"] += 1
        return tok.encode(text), "stop"

    return respond


def hook_rows(rows_logs, *, n=4, micro_batch_size=2, step=None):
    """Rows ``(reward, extra_logs)`` through OpenRLHF's real experience path (SamplesGenerator,
    split_rollout_samples) and the hooked ``compute_advantages_and_returns``; returns the batches.
    Needs the ``openrlhf_real`` fixture and an installed hook."""
    import torch
    from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator
    from openrlhf_harness import make_args, make_experience_maker

    gen = SamplesGenerator.__new__(SamplesGenerator)
    gen.args = make_args(n)
    rows = [gen._process_response_into_experience({
        "observation_tokens": [1, 2, 3, 4, 5], "action_ranges": [(3, 5)], "rollout_log_probs": None,
        "prompt": PROMPT, "label": "{}", "reward": r, "scores": r, "truncated": False, "extra_logs": logs},
        max_len=512) for r, logs in rows_logs]
    maker = make_experience_maker(make_args(n, micro_batch_size=micro_batch_size))
    batches = maker.split_rollout_samples(rows)
    for b in batches:
        b.kl = torch.zeros_like(b.action_mask, dtype=torch.float32)
    if step is not None:
        maker._polaris_global_step = step
    return maker.compute_advantages_and_returns(batches)


def per_row(batches, key: str) -> list[float]:
    """``info[key]`` (or the rewards for key "rewards") per row, in original row order."""
    out = {}
    for b in batches:
        vals = b.rewards if key == "rewards" else b.info[key]
        for j, idx in enumerate(b.index):
            out[idx] = float(vals[j])
    return [out[i] for i in sorted(out)]


def row_advantages(batches) -> list[float]:
    """Per original row: the advantage on its action tokens (constant over the action, kl=0, gamma=1)."""
    import torch

    out = {}
    for b in batches:
        for j, idx in enumerate(b.index):
            vals = b.advantages[j][b.action_mask[j].bool()]
            assert torch.allclose(vals, vals[0].expand_as(vals))
            out[idx] = float(vals[0])
    return [out[i] for i in sorted(out)]
