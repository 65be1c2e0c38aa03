"""Driver step 2: render prompts with the policy's chat template and enforce the token budgets.

Runs on the head node with the real tokenizer: prompts longer than max_prompt_tokens and
references that cannot fit max_new_tokens (with their think block and the end-of-turn token)
are dropped and counted, or stop the run when data.filters.overlong_references is 'error'.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._driver_data import DriverError

__all__ = ["Renderer", "RenderedSplit", "load_renderer", "reference_completion", "render_split", "write_rendered"]

PROMPT_TOO_LONG = "prompt_too_long"
REFERENCE_TOO_LONG = "reference_too_long"
_BATCH = 256


def reference_completion(label: dict[str, Any], thinking: bool) -> str:
    """The assistant text the injected reference stands for (without the end-of-turn token)."""
    story = label.get("reference") or ""
    if not thinking:
        return story
    return f"<think>\n{label.get('reasoning') or ''}\n</think>\n\n{story}"


@dataclass
class Renderer:
    """A tokenizer plus the rendering mode of driver.json `model`."""

    tokenizer: Any
    mode: str  # "model" | "none" | "file"
    thinking: bool
    template_text: str | None = None
    template_sha256: str | None = None

    def render(self, messages: list[dict[str, str]]) -> str:
        if self.mode == "none":
            return "\n\n".join(m["content"] for m in messages)
        kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": True, "enable_thinking": self.thinking}
        if self.template_text is not None:
            kwargs["chat_template"] = self.template_text
        return self.tokenizer.apply_chat_template(messages, **kwargs)

    def count(self, texts: list[str]) -> list[int]:
        # add_special_tokens=False: OpenRLHF tokenizes the rendered prompt the same way.
        out: list[int] = []
        for i in range(0, len(texts), _BATCH):
            enc = self.tokenizer(texts[i : i + _BATCH], add_special_tokens=False)
            out.extend(len(ids) for ids in enc["input_ids"])
        return out


def load_renderer(model: dict[str, Any], bundle: Path) -> Renderer:
    """Load the policy tokenizer (transformers imported here) and the chat template choice."""
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise DriverError("transformers is not installed on the head node (install the `train` extra)") from None
    policy = model["policy"]
    try:
        tok = AutoTokenizer.from_pretrained(policy, trust_remote_code=bool(model.get("trust_remote_code")))
    except Exception as exc:  # noqa: BLE001 - missing repo, no network, gated model...
        raise DriverError(f"cannot load the tokenizer of model.policy {policy!r}: {exc}") from None
    tok = getattr(tok, "tokenizer", tok)  # a processor (multimodal checkpoints) wraps the text tokenizer
    choice = model.get("chat_template", "model") or "model"
    thinking = bool(model.get("thinking"))
    if choice in ("model", "none"):
        if choice == "model" and not getattr(tok, "chat_template", None):
            raise DriverError(
                f"the tokenizer of {policy!r} has no chat template; set model.chat_template to a Jinja file or 'none'"
            )
        return Renderer(tok, choice, thinking)
    path = Path(choice) if Path(choice).is_absolute() else bundle / choice
    if not path.is_file():
        raise DriverError(f"model.chat_template: template file {path} not found in the bundle")
    text = path.read_text(encoding="utf-8")
    return Renderer(tok, "file", thinking, text, hashlib.sha256(text.encode("utf-8")).hexdigest())


@dataclass
class RenderedSplit:
    """Rendered rows (`{"prompt", "label"}`, label a JSON string) and dropped ids by reason."""

    rows: list[dict[str, str]]
    dropped: dict[str, list[str]] = field(default_factory=dict)
    longest_prompt: int = 0


def render_split(
    renderer: Renderer,
    rows: list[dict[str, Any]],
    *,
    split: str,
    max_prompt_tokens: int,
    max_new_tokens: int,
    check_references: bool,
    overlong_references: str = "drop",
) -> RenderedSplit:
    """Render and length-check one split; raise `DriverError` for over-long references in 'error' mode."""
    try:
        prompts = [renderer.render(r["messages"]) for r in rows]
    except Exception as exc:  # noqa: BLE001 - a Jinja error names the template problem
        raise DriverError(f"the chat template failed on the {split} prompts: {exc}") from None
    prompt_len = renderer.count(prompts) if prompts else []
    ref_len: list[int | None] = [None] * len(rows)
    if check_references:
        idx = [i for i, r in enumerate(rows) if r["label"].get("reference")]
        texts = [reference_completion(rows[i]["label"], renderer.thinking) for i in idx]
        for i, n in zip(idx, renderer.count(texts) if texts else []):
            ref_len[i] = n + 1  # + the end-of-turn token the reference is closed with

    out = RenderedSplit(rows=[])
    too_long_refs: list[tuple[str, int]] = []
    for row, prompt, n_prompt, n_ref in zip(rows, prompts, prompt_len, ref_len):
        rid = str(row["label"]["id"])
        if n_prompt > max_prompt_tokens:
            out.dropped.setdefault(PROMPT_TOO_LONG, []).append(rid)
            continue
        if n_ref is not None and n_ref > max_new_tokens:
            too_long_refs.append((rid, n_ref))
            out.dropped.setdefault(REFERENCE_TOO_LONG, []).append(rid)
            continue
        out.longest_prompt = max(out.longest_prompt, n_prompt)
        out.rows.append({"prompt": prompt, "label": json.dumps(row["label"], ensure_ascii=False)})
    if too_long_refs and overlong_references == "error":
        shown = ", ".join(f"{rid} ({n} tokens)" for rid, n in too_long_refs[:5])
        raise DriverError(
            f"{len(too_long_refs)} {split} reference(s) do not fit grpo.max_new_tokens ({max_new_tokens}) with "
            f"their think block and end-of-turn token: {shown}{', ...' if len(too_long_refs) > 5 else ''}. "
            "Raise grpo.max_new_tokens or set data.filters.overlong_references: drop"
        )
    return out


def write_rendered(path: Path, rows: list[dict[str, str]]) -> str:
    """Write rendered rows as JSONL; return the file's sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
