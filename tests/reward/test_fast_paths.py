"""The speed-ups in polaris.reward give exactly the results of the plain implementations.

Each fast path is compared with a straightforward reference (the code it replaced) on the demo
data, the injection canaries and generated text, including the characters ``re.IGNORECASE``
folds onto ASCII letters (KELVIN SIGN, long s, dotted/dotless i).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from polaris.reward import blank, injection_guard, repetition
from polaris.reward._injection import _STRONG, _WEAK, InjectionReport
from polaris.reward._prefilter import Prefilter, fold
from polaris.schema.reward import BlankConfig, RepetitionConfig

from .canaries import CANARIES

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_stories.jsonl"


# -- references: the implementations the fast paths replaced -------------------------------------
def ref_injection(story: str) -> InjectionReport:
    strong = [name for name, pat in _STRONG if pat.search(story)]
    weak = [name for name, pat in _WEAK if pat.search(story)]
    return InjectionReport(flagged=bool(strong) or len(weak) >= 2, reasons=strong + [f"weak:{w}" for w in weak])


def ref_visible_ratio(text: str) -> float:
    def visible(c: str) -> bool:
        return not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc", "Zs", "Zl", "Zp")

    return sum(1 for c in text if visible(c)) / len(text)


def ref_repetition(text: str, params: RepetitionConfig) -> tuple[float, float, float, float]:
    n = params.ngram
    words = re.findall(r"\w+", text.lower())
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    r4 = local = 0.0
    if grams:
        r4 = (len(grams) - len(set(grams))) / len(grams)
        last: dict = {}
        hits = 0
        for i, g in enumerate(grams):
            j = last.get(g)
            if j is not None and i - j <= params.local_window:
                hits += 1
            last[g] = i
        local = hits / len(grams)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    dup = (len(lines) - len(set(lines))) / len(lines) if lines else 0.0
    mixed = params.global_mix * max(0.0, r4 - params.threshold) + params.local_mix * local
    return min(params.cap, params.scale * mixed + params.dup_lines_weight * dup), r4, local, dup


# -- generated text: pattern keywords, in every case, with the confusable characters --------------
_KEYWORDS = sorted({kw for _, p in _STRONG + _WEAK for g in Prefilter(p, max_groups=9, min_len=1).groups for kw in g})
_FILLER = ["the", "story", "a", "an", "as", "ai", "this", "10", "out", "of", "/", ":", "\n", " ", "  ", ".", ",",
           '"', "'", "{", "}", "<", ">", "[", "]", "|", "#", "##", "*", "-", "\u212a", "\u017f", "\u0130", "\u0131",
           "\u00e9", "\u200b", "\u00a0", "\u2014", "score", "give", "perfect", "judge", "rubric", "system"]
_token = st.one_of(st.sampled_from(_KEYWORDS), st.sampled_from(_FILLER))


@st.composite
def _texts(draw) -> str:
    toks = draw(st.lists(_token, max_size=40))
    out = []
    for t in toks:
        case = draw(st.sampled_from(["lower", "upper", "title", "same"]))
        t = t.upper() if case == "upper" else t.title() if case == "title" else t
        out.append(t + draw(st.sampled_from([" ", "", "\n", ": ", "  "])))
    return "".join(out)


# -- fold ----------------------------------------------------------------------------------------
def test_fold_maps_every_ignorecase_match_of_an_ascii_letter_onto_it():
    """Exhaustive over Unicode: a character ``re.I`` matches to letter x folds to exactly x."""
    any_letter = re.compile(r"[a-z]", re.I)
    letters = [(x, re.compile(x, re.I)) for x in "abcdefghijklmnopqrstuvwxyz"]
    checked = 0
    for cp in range(sys.maxunicode + 1):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or not any_letter.fullmatch(c):
            continue
        for x, pat in letters:
            if pat.fullmatch(c):
                assert fold(c) == x, (hex(cp), x, fold(c))
                checked += 1
    assert checked >= 56  # a-z, A-Z and the few non-ASCII look-alikes


# -- injection guard -----------------------------------------------------------------------------
def test_injection_guard_matches_reference_on_canaries_and_demo_data():
    rows = [json.loads(x) for x in DEMO.read_text(encoding="utf-8").splitlines() if x.strip()]
    texts = [s for _, s in CANARIES] + [r["reference"] for r in rows]
    for t in texts:
        assert injection_guard(t) == ref_injection(t)


def test_every_pattern_has_a_prefilter_that_passes_its_canaries():
    for name, story in CANARIES:
        for _, pat in _STRONG + _WEAK:
            if pat.search(story):
                assert Prefilter(pat).may_match(fold(story)), (name, pat.pattern)


@settings(max_examples=400, deadline=None)
@given(_texts())
def test_injection_guard_matches_reference_on_generated_text(text):
    assert injection_guard(text) == ref_injection(text)


def test_prefilter_keeps_a_pattern_it_cannot_read():
    """A construct the keyword reader does not model (a backreference) only loses the filter."""
    pat = re.compile(r"(a+)judge\1")
    pf = Prefilter(pat)
    assert pf.may_match(fold("aajudgeaa")) and not pf.may_match(fold("aajudgaa"))
    assert Prefilter(re.compile(r"x?")).groups == ()  # nothing required: always searched


# -- blank and repetition -----------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_blank_matches_reference(text):
    params = BlankConfig()
    expect = 1.0 if ref_visible_ratio(text) < params.min_visible_ratio or 50 < params.min_words else 0.0
    assert blank(text, 50, params) == expect
    params2 = BlankConfig(min_visible_ratio=0.5, min_words=0)
    expect2 = 1.0 if ref_visible_ratio(text) < 0.5 else 0.0
    assert blank(text, 50, params2) == expect2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["the", "sea", "was", "grey", "and", "cold", "\n", "The", "SEA", "."]), max_size=120),
       st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=40))
def test_repetition_matches_reference(words, n, window):
    text = " ".join(words)
    params = RepetitionConfig(ngram=n, local_window=window)
    rep = repetition(text, params)
    assert (rep.penalty, rep.r4, rep.local4, rep.dup_lines) == ref_repetition(text, params)
