"""The judge client: hardened prompts, AsyncOpenAI calls with retries and limits, panels, accounting.

``JudgeClient(cfg, spec).judge(judge_prompt, story) -> Judgment``. The ``openai`` SDK is imported
only when the first call is made.
"""

from polaris.judge._client import JudgeClient, parse_json_lenient
from polaris.judge._limits import TokenBucket
from polaris.judge._prompt import build_messages, new_nonce, reask_message, render_rubric, strip_delimiters
from polaris.judge._types import JudgeCallError, Judgment, MemberResult

__all__ = [
    "JudgeClient",
    "Judgment",
    "MemberResult",
    "JudgeCallError",
    "TokenBucket",
    "build_messages",
    "render_rubric",
    "new_nonce",
    "reask_message",
    "strip_delimiters",
    "parse_json_lenient",
]
