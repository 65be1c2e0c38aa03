"""Building the reference row's tokens exactly like a policy sample's (no torch, no OpenRLHF)."""

from __future__ import annotations

from copy import deepcopy

__all__ = ["prompt_token_ids", "reference_text", "text_tokenizer"]

THINK_OPEN = "<think>\n"


def text_tokenizer(hf_tokenizer):
    """OpenRLHF hands an AutoProcessor for VLM checkpoints (Qwen3.5); text work uses its tokenizer."""
    return getattr(hf_tokenizer, "tokenizer", hf_tokenizer)


def prompt_token_ids(prompt: str, sampling_params, max_length: int, hf_tokenizer) -> tuple[list[int], object]:
    """The prompt ids a policy sample gets, replicating ``SingleTurnAgentExecutor.execute``
    of OpenRLHF 0.11.2 (agent.py:216-239): ``add_special_tokens=False``, ``max_tokens`` =
    ``max(1, max_length - len(prompt))`` when unset, left truncation to ``max_length - max_tokens``.

    Returns ``(ids, effective_sampling_params)``.
    """
    ids = hf_tokenizer(text=prompt, add_special_tokens=False, return_tensors="pt")["input_ids"][0].tolist()
    effective = sampling_params
    if sampling_params.max_tokens is None:
        effective = deepcopy(sampling_params)
        effective.max_tokens = max(1, max_length - len(ids))
    max_prompt = max_length - effective.max_tokens
    if len(ids) > max_prompt:
        ids = ids[-max_prompt:]
    return ids, effective


def reference_text(prompt: str, story: str, reasoning: str | None, *, thinking: bool) -> str:
    """The assistant text of the reference row, as the policy would write it after ``prompt``.

    * thinking on: ``<think>\\n{reasoning}\\n</think>\\n\\n{story}``. When the rendered prompt
      already ends with an open ``<think>\\n`` (templates that open the block in the generation
      prompt), that opener is not repeated. Without a reasoning trace the block is empty.
    * thinking off: the story alone. Whatever empty think block the chat template renders for
      non-thinking turns is already part of the prompt, shared by policy and reference rows.
    """
    if not thinking:
        return story
    body = f"{THINK_OPEN}{(reasoning or '').strip()}\n</think>\n\n{story}"
    if prompt.endswith(THINK_OPEN):
        body = body[len(THINK_OPEN):]
    return body
