"""Deterministic reward components (pure arithmetic on text and token counts)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polaris.schema.reward import BlankConfig, LengthBandConfig, RepetitionConfig

__all__ = [
    "RepetitionReport",
    "repetition",
    "blank",
    "length_band",
    "length_band_penalty",
    "longwriter_length_score",
    "overlong_penalty",
    "think_cap_penalty",
]

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class RepetitionReport:
    """Self-repetition measures: ``r4`` = Σ(count−1)/#n-grams, ``local4`` = share of n-grams seen
    earlier within the local window, ``dup_lines`` = duplicated non-empty lines / non-empty lines,
    ``penalty`` = min(cap, scale·(g·max(0, r4 − threshold) + l·local4) + w_dup·dup_lines)."""

    penalty: float
    r4: float
    local4: float
    dup_lines: float


def repetition(text: str, params: "RepetitionConfig") -> RepetitionReport:
    """POLARIS self-repetition penalty over lower-cased ``\\w+`` word n-grams and lines."""
    n = params.ngram
    words = _TOKEN.findall(text.lower())
    # zip over shifted views builds the same n-gram tuples as slicing, without a slice per gram
    grams = list(zip(*(words[i:] for i in range(n)))) if n >= 1 else [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    r4 = local = 0.0
    if grams:
        distinct = len(set(grams))
        r4 = (len(grams) - distinct) / len(grams)
        hits = 0
        if distinct < len(grams):  # a local hit needs a repeated n-gram: none repeats, none to look for
            last: dict[tuple[str, ...], int] = {}
            for i, g in enumerate(grams):
                j = last.get(g)
                if j is not None and i - j <= params.local_window:
                    hits += 1
                last[g] = i
        local = hits / len(grams)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    dup = (len(lines) - len(set(lines))) / len(lines) if lines else 0.0
    mixed = params.global_mix * max(0.0, r4 - params.threshold) + params.local_mix * local
    penalty = min(params.cap, params.scale * mixed + params.dup_lines_weight * dup)
    return RepetitionReport(penalty=penalty, r4=r4, local4=local, dup_lines=dup)


def _visible(c: str) -> bool:
    # Zero-width and control characters are as invisible as whitespace.
    return not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc", "Zs", "Zl", "Zp")


# In ASCII exactly the C0 controls, space and DEL are invisible by _visible's rule.
_ASCII_INVISIBLE = bytes(range(0x21)) + b"\x7f"


def _visible_count(text: str) -> int:
    if text.isascii():
        return len(text.encode("ascii").translate(None, _ASCII_INVISIBLE))
    # one category lookup per distinct character instead of one per character
    return sum(n for c, n in Counter(text).items() if _visible(c))


def blank(text: str, words: int, params: "BlankConfig") -> float:
    """1.0 when the story is blank-ish (visible-character share below the minimum, or fewer words
    than the minimum), else 0.0."""
    if not text:
        return 1.0
    ratio = _visible_count(text) / len(text)
    return 1.0 if ratio < params.min_visible_ratio or words < params.min_words else 0.0


def length_band(target: int, params: "LengthBandConfig") -> tuple[float, float]:
    """The tolerance band (low, high) in words around ``target``."""
    tol_lo = min(max(params.lo_fraction * target, params.lo_min), params.lo_max)
    tol_hi = min(max(params.hi_fraction * target, params.hi_min), params.hi_max)
    return target - tol_lo, target + tol_hi


def length_band_penalty(words: int, target: int, params: "LengthBandConfig") -> float:
    """POLARIS length penalty in [0, 1]: 0 inside the band; short: 1 − y/low; long: y/high − 1 (capped at 1)."""
    if target <= 0:
        raise ValueError(f"target must be a positive word count, got {target}")
    lo, hi = length_band(target, params)
    if words < lo:
        return min(1.0, 1.0 - words / lo)
    if words > hi:
        return min(1.0, words / hi - 1.0)
    return 0.0


def longwriter_length_score(words: int, target: int) -> float:
    """LongWriter's S_l in [0, 100]: 100·max(0, 1 − (y/x − 1)/3) when y > x, else 100·max(0, 1 − (x/y − 1)/2)."""
    if target <= 0:
        raise ValueError(f"target must be a positive word count, got {target}")
    if words <= 0:
        return 0.0
    if words > target:
        return 100.0 * max(0.0, 1.0 - (words / target - 1.0) / 3.0)
    return 100.0 * max(0.0, 1.0 - (target / words - 1.0) / 2.0)


def overlong_penalty(response_tokens: int, finished_properly: bool, max_new_tokens: int, buffer: int) -> float:
    """DAPO soft overlong penalty magnitude in [0, 1] for a response that did not end properly:
    min(1, max(0, L − (max_new_tokens − buffer)) / buffer). A finished response gets 0."""
    if buffer <= 0:
        raise ValueError(f"buffer must be positive, got {buffer}")
    if finished_properly:
        return 0.0
    start = max(0, max_new_tokens - buffer)
    return min(1.0, max(0, response_tokens - start) / buffer)


def think_cap_penalty(think_tokens: int, cap: int, per_token: float) -> float:
    """``per_token`` for every thinking token beyond ``cap`` (0 at or below the cap)."""
    return max(0, think_tokens - cap) * per_token
