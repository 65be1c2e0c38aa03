"""Rollout executor for OpenRLHF 0.11.2 (``--train.agent_func_path plugins/polaris_executor.py``).

Subclasses OpenRLHF's ``SingleTurnAgentExecutor`` and adds:

* human-reference injection: in each training group (the n calls of one
  ``RolloutRayActor.generate_responses``) exactly one call – the last – returns the human
  reference instead of a sample. The n calls share one ``sampling_params`` object and carry no
  index, so the group is keyed by ``id(sampling_params)`` (a strong reference is held so the id
  cannot be reused), the slot is claimed synchronously before the first ``await``, and the entry
  is forgotten once n calls have claimed;
* rewards from the Polaris reward service (``POST /v1/score``) with retries; a failed judgment
  returns reward 0.0 *only* together with ``extra_logs["judge_failed"] = 1.0`` and the
  trainer-side hook (``polaris.hri.hook``) replaces it with an imputed value. The executor
  refuses to start unless that hook ran in this process;
* the sampling knobs OpenRLHF's CLI lacks (top_k, repetition_penalty, min_p), applied to a
  copy of ``sampling_params`` for policy samples.
"""

from __future__ import annotations

import json
import logging
import os
from copy import deepcopy

from openrlhf.utils.agent import SingleTurnAgentExecutor

from polaris.hri._reference import prompt_token_ids, reference_text, text_tokenizer
from polaris.hri._scoring import ScoreClient, ScoreRequest, ScoreResult, idempotency_key
from polaris.hri.config import HOOK_INSTALLED_ENV, ExecutorConfig, load_executor_config

__all__ = ["PolarisExecutor", "LabelError"]

logger = logging.getLogger("polaris.hri.executor")


class LabelError(ValueError):
    """A prompt row's label is not the JSON object Polaris writes (data bug, never a judge failure)."""


def _parse_label(label) -> dict:
    try:
        meta = json.loads(label) if isinstance(label, str) else dict(label)
    except (json.JSONDecodeError, TypeError, ValueError) as e:
        raise LabelError(f"label is not a JSON object ({e}); got {str(label)[:120]!r}") from None
    if not isinstance(meta, dict) or "id" not in meta or "target_words" not in meta:
        raise LabelError(f"label must hold 'id' and 'target_words'; got keys {sorted(meta) if isinstance(meta, dict) else type(meta).__name__}")
    return meta


#: Overrides ``reward_service_url`` (set by the driver on multi-node clusters).
REWARD_URL_ENV = "POLARIS_REWARD_SERVICE_URL"


class PolarisExecutor(SingleTurnAgentExecutor):
    """Polaris rollout executor (logic; ``plugins/polaris_executor.py`` exposes it as ``AgentExecutor``)."""

    def __init__(self, config: ExecutorConfig | None = None, *, require_hook: bool = True):
        # No reward endpoints: the parent then only tokenizes and generates; we score ourselves.
        super().__init__(remote_rm_url=None)
        self.cfg = config or load_executor_config()
        if require_hook and os.environ.get(HOOK_INSTALLED_ENV) != "1":
            raise RuntimeError(
                "polaris executor: the trainer-side hook is not installed in this Ray worker "
                f"({HOOK_INSTALLED_ENV} is unset). Failed judgments would train on a 0.0 placeholder. "
                "Submit the job with runtime_env worker_process_setup_hook='polaris.hri.hook.install' "
                "and POLARIS_HOOK_CONFIG set (polaris compile writes both)."
            )
        if self.cfg.reward_token_env and not os.environ.get(self.cfg.reward_token_env):
            raise RuntimeError(
                f"polaris executor: environment variable {self.cfg.reward_token_env} (reward service token, "
                "named by reward_token_env) is not set in this worker; add it to the job's runtime_env env_vars"
            )
        self.n = self.cfg.samples_per_prompt
        # Multi-node: the driver learns the head's address at job start and exports it to every worker.
        url = os.environ.get(REWARD_URL_ENV) or self.cfg.reward_service_url
        self.scorer = ScoreClient(
            url,
            token_env=self.cfg.reward_token_env,
            timeout_s=self.cfg.reward_timeout_s,
            retries=self.cfg.reward_retries,
            max_concurrency=self.cfg.max_concurrency,
            backoff_base_s=self.cfg.reward_backoff_s,
        )
        # id(sampling_params) -> [sampling_params (strong ref), calls claimed so far]
        self._groups: dict[int, list] = {}
        fixed = ["is_reference", "judge_failed", "reference_dropped", "ref_reward_x_n", "story_quality",
                 "judged", "components_logged"]
        self._component_keys = [k for k in self.cfg.reward_keys if k not in fixed]
        self._keys = fixed + self._component_keys

    # ---- group slot registry -------------------------------------------------------------
    def _claim_reference(self, sampling_params) -> bool:
        """Synchronous (no await): True for the last of the n calls sharing ``sampling_params``."""
        key = id(sampling_params)
        entry = self._groups.setdefault(key, [sampling_params, 0])
        slot = entry[1]
        entry[1] += 1
        if entry[1] >= self.n:
            del self._groups[key]
        return slot == self.n - 1

    def _wants_reference(self, meta: dict) -> bool:
        return self.cfg.hri_enabled and meta.get("split", "train") != "eval" and meta.get("reference") is not None

    # ---- entry point ---------------------------------------------------------------------
    async def execute(self, prompt, label, sampling_params, max_length: int, hf_tokenizer, llm_engine, images=None):
        meta = _parse_label(label)
        # The claim must happen before the first await so the n siblings claim in call order.
        is_ref = self._wants_reference(meta) and self._claim_reference(sampling_params)
        if is_ref:
            if images:
                raise ValueError(f"polaris HRI supports text prompts only (label id {meta['id']} has images)")
            out = await self._reference_row(prompt, label, meta, sampling_params, max_length, hf_tokenizer, llm_engine)
            if out is not None:
                return out
        return await self._policy_row(prompt, label, meta, sampling_params, max_length, hf_tokenizer, llm_engine,
                                      images, dropped=is_ref)

    # ---- rows ----------------------------------------------------------------------------
    async def _policy_row(self, prompt, label, meta, sampling_params, max_length, hf_tokenizer, llm_engine, images,
                          dropped: bool):
        sp = deepcopy(sampling_params)
        knobs = self.cfg.sampling
        if meta.get("split") == "eval" and self.cfg.eval_sampling is not None:
            knobs = self.cfg.eval_sampling
        sp.top_k = knobs.top_k
        sp.repetition_penalty = knobs.repetition_penalty
        sp.min_p = knobs.min_p
        if knobs.top_p is not None:
            sp.top_p = knobs.top_p
        out = await super().execute(prompt, label, sp, max_length, hf_tokenizer, llm_engine, images=images)
        start, end = out["action_ranges"][0]
        action = list(out["observation_tokens"][start:end])
        res = await self._score(meta, action, hf_tokenizer, is_reference=False, truncated=bool(out["truncated"]))
        self._fill_reward(out, res, is_reference=False, dropped=dropped)
        return out

    async def _reference_row(self, prompt, label, meta, sampling_params, max_length, hf_tokenizer, llm_engine):
        tok = text_tokenizer(hf_tokenizer)
        ids, effective = prompt_token_ids(prompt, sampling_params, max_length, hf_tokenizer)
        if self.cfg.needs_reasoning and not meta.get("reasoning"):
            raise LabelError(
                f"label id {meta['id']}: the reference has no reasoning trace but thinking is on "
                "(reference_injection.require_reasoning_trace); filter or complete the data before training"
            )
        text = reference_text(prompt, meta["reference"], meta.get("reasoning"), thinking=self.cfg.thinking)
        ref_ids = tok(text=text, add_special_tokens=False)["input_ids"]
        ref_ids = list(ref_ids) + [self._eot_id(tok)]
        # OpenRLHF cuts rows at max_length (no end-of-turn); max_tokens >= max_length keeps the whole prompt.
        budget = min(effective.max_tokens, max_length - len(ids))
        if len(ref_ids) > budget:
            # Never let OpenRLHF cut it silently (no end-of-turn): sample instead, and say so.
            logger.warning(
                "label id %s: reference is %d tokens, above the %d-token response budget; using a policy "
                "sample for this slot (filter references offline)", meta["id"], len(ref_ids), budget)
            return None
        rollout_log_probs = None
        if sampling_params.logprobs is not None:
            rollout_log_probs = await self._policy_logprobs(ids, ref_ids, sampling_params, llm_engine)
        obs = ids + ref_ids
        out = {
            "prompt": prompt, "label": label, "images": None, "mm_train_inputs": None,
            "observation_tokens": obs,
            "action_ranges": [(len(ids), len(obs))],
            "rollout_log_probs": rollout_log_probs,
            "truncated": False,
            "reward": None, "scores": None, "extra_logs": {},
        }
        if self.cfg.reference_reward_fixed is not None:
            res = ScoreResult(failed=False, reward=float(self.cfg.reference_reward_fixed))
        else:
            res = await self._score(meta, ref_ids, hf_tokenizer, is_reference=True, truncated=False)
        self._fill_reward(out, res, is_reference=True, dropped=False, fixed=self.cfg.reference_reward_fixed is not None)
        return out

    async def _policy_logprobs(self, ids, ref_ids, sampling_params, llm_engine) -> list[float]:
        """IS correction on: the policy's own log-probs of the reference via vLLM ``prompt_logprobs``.

        vLLM returns raw log-probs (no temperature/top-p), so the compiler must pair IS correction
        with temperature 1.0 and top_p 1.0. Prompt positions get 0.0 like OpenRLHF's own rows.
        """
        sp = deepcopy(sampling_params)
        sp.max_tokens = 1
        sp.prompt_logprobs = 0
        out = await llm_engine.generate(ids + ref_ids, sp)
        plp = out.prompt_logprobs
        lps = [0.0] * len(ids)
        for pos, tid in enumerate(ref_ids, start=len(ids)):
            entry = plp[pos] if plp is not None and pos < len(plp) else None
            lp = entry.get(tid) if entry else None
            if lp is None:
                raise RuntimeError(f"vLLM returned no prompt log-prob for reference token {tid} at position {pos}")
            lps.append(float(lp.logprob))
        return lps

    # ---- scoring ---------------------------------------------------------------------------
    def _eot_id(self, tok) -> int:
        tid = tok.convert_tokens_to_ids(self.cfg.end_of_turn_token)
        unk = getattr(tok, "unk_token_id", None)
        if tid is None or (unk is not None and tid == unk):
            raise RuntimeError(f"end_of_turn_token {self.cfg.end_of_turn_token!r} is not a token of the policy's tokenizer")
        return int(tid)

    async def _score(self, meta, action_ids, hf_tokenizer, *, is_reference, truncated) -> ScoreResult:
        tok = text_tokenizer(hf_tokenizer)
        response = tok.decode(action_ids, skip_special_tokens=True)
        think_end = tok.convert_tokens_to_ids(self.cfg.think_end_token)
        think_tokens = action_ids.index(think_end) + 1 if think_end is not None and think_end in action_ids else None
        req = ScoreRequest(
            key=idempotency_key(str(meta["id"]), is_reference, action_ids),
            id=str(meta["id"]),
            judge_prompt=meta.get("judge_prompt") or "",
            response=response,
            target_words=int(meta["target_words"]),
            is_reference=is_reference,
            response_tokens=len(action_ids),
            think_tokens=think_tokens,
            truncated=truncated,
            split="eval" if meta.get("split") == "eval" else "train",
        )
        return await self.scorer.score(req)

    def _fill_reward(self, out: dict, res: ScoreResult, *, is_reference: bool, dropped: bool, fixed: bool = False) -> None:
        comps = {**res.dimensions, **res.flags, **res.components}
        failed = res.failed
        logs = dict.fromkeys(self._keys, 0.0)
        missing = [k for k in self._component_keys if k not in comps]
        # A fixed reference reward (reference_reward: fixed) has no judge and no components by design.
        if not failed and missing and not fixed:
            logger.error("reward service result lacks component(s) %s; treating the row as failed", missing)
            failed = True
        if not missing:
            # Logged for failed rows too (they are computed without the judge), so the hook can
            # recompute the composite of a failed row from the batch-mean story quality.
            for k in self._component_keys:
                logs[k] = float(comps[k])
            logs["components_logged"] = 1.0
        # The judge's SQ is the result's own field (not a component). "judged" marks the rows whose SQ
        # is a real score: only those may enter the batch mean that imputes failed rows (a floored
        # or fixed-reward row has no SQ, and its 0 must not pull the mean down).
        if not failed and res.story_quality is not None:
            logs["story_quality"] = float(res.story_quality)
            logs["judged"] = 1.0
        reward = 0.0 if failed else float(res.reward)  # placeholder only with judge_failed=1
        logs["is_reference"] = 1.0 if is_reference else 0.0
        logs["judge_failed"] = 1.0 if failed else 0.0
        logs["reference_dropped"] = 1.0 if dropped else 0.0
        logs["ref_reward_x_n"] = self.n * reward if is_reference else 0.0
        out.update(reward=reward, scores=reward, extra_logs=logs)
