"""Deterministic text handling and reward components (pure functions, nothing heavy imported).

Typical use by the reward service, per response::

    comps = compute_components(response, target_words=t, cfg=recipe.reward, thinking=True,
                               word_rule=recipe.reward.word_rule, think_cap_tokens=3072, ...)
    if comps.format_ok and not comps.injection_flag:
        sq = <judge sanitize_for_judge(comps.story) with the rubric> or None on failure
    reward = composite(sq, comps, recipe.reward)   # None → impute_batch_mean over the batch
"""

from ._components import (
    RepetitionReport,
    blank,
    length_band,
    length_band_penalty,
    longwriter_length_score,
    overlong_penalty,
    repetition,
    think_cap_penalty,
)
from ._composite import Components, composite, compute_components, gate_reasons, impute_batch_mean
from ._extract import Extraction, extract_story, sanitize_for_judge
from ._injection import InjectionReport, injection_guard
from ._words import (
    MAX_TARGET_WORDS,
    WORD_RULES,
    count_words,
    parse_target_words,
    render_length_instruction,
    strip_length_instruction,
    target_words_value,
)

__all__ = [
    "Extraction",
    "extract_story",
    "sanitize_for_judge",
    "WORD_RULES",
    "count_words",
    "parse_target_words",
    "target_words_value",
    "MAX_TARGET_WORDS",
    "strip_length_instruction",
    "render_length_instruction",
    "RepetitionReport",
    "repetition",
    "blank",
    "length_band",
    "length_band_penalty",
    "longwriter_length_score",
    "overlong_penalty",
    "think_cap_penalty",
    "InjectionReport",
    "injection_guard",
    "Components",
    "compute_components",
    "composite",
    "gate_reasons",
    "impute_batch_mean",
]
