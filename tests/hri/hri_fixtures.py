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
