import pytest

from polaris.rubric import load_rubric, parse_answer, quote_in_story, score_answer

POL = load_rubric("polaris-story-quality")
C9 = load_rubric("story-craft-9")
STORY = "The rain fell on the \u201cold\u201d harbour.\n\nShe didn\u2019t   look back at the boats."


def pol_answer(pos, neg, bonus=0, penalty=0, quotes=None):
    """Spread positive/negative totals over the dimensions in order, filling each to its max."""
    out = {}
    left = {"positive": pos, "negative": neg}
    for d in POL.dimensions:
        if d.polarity in left:
            s = min(d.max, left[d.polarity])
            left[d.polarity] -= s
        else:
            s = bonus if d.polarity == "bonus" else penalty
        out[d.id] = {"score": s, "justification": "j", "quotes": (quotes or {}).get(d.id, [])}
    assert left == {"positive": 0, "negative": 0}
    return parse_answer(POL, out)


def test_signed_sum_plain():
    r = score_answer(POL, pol_answer(60, 20, bonus=2, penalty=1), STORY)
    assert (r.positive_total, r.negative_total, r.raw_total) == (60, 20, 60 - 20 + 2 - 1)
    assert r.value == pytest.approx(0.41) and r.label == "fair"


def test_bonus_zeroed_when_negative_exceeds_half_positive():
    r = score_answer(POL, pol_answer(40, 21, bonus=5), STORY)
    assert r.raw_total == 40 - 21 and "bonus_zeroed" in r.flags
    r = score_answer(POL, pol_answer(40, 20, bonus=5), STORY)  # N = P/2 exactly: bonus kept
    assert r.raw_total == 40 - 20 + 5 and "bonus_zeroed" not in r.flags


def test_penalty_capped_when_positive_dominates():
    r = score_answer(POL, pol_answer(60, 39, penalty=8), STORY)  # 60 > 58.5
    assert r.raw_total == 60 - 39 - 3 and "penalty_capped" in r.flags
    r = score_answer(POL, pol_answer(60, 40, penalty=8), STORY)  # 60 = 1.5·40: not capped
    assert r.raw_total == 60 - 40 - 8


def test_extremes_and_clamp():
    r = score_answer(POL, pol_answer(100, 0, bonus=8), STORY)
    assert r.raw_total == 108 and r.value == pytest.approx(1.08) and r.label == "excellent"
    r = score_answer(POL, pol_answer(0, 151, penalty=8), STORY)
    assert r.raw_total == -159 and r.value == pytest.approx(-1.59) and r.label == "very_poor"
    narrow = POL.model_copy(update={"aggregation": POL.aggregation.model_copy(update={"clamp_max": 50})})
    r = score_answer(narrow, pol_answer(100, 0), STORY)
    assert r.raw_total == 50 and "clamped" in r.flags


def test_judge_total_is_ignored():
    ans = pol_answer(10, 5)
    ans.ignored["overall_score"] = 108
    r = score_answer(POL, ans, STORY)
    assert r.raw_total == 5 and "judge_total_ignored" in r.flags


def test_quote_matching_normalises_whitespace_and_curly_quotes():
    from polaris.rubric import normalise_for_quotes

    norm = normalise_for_quotes(STORY)
    assert quote_in_story('the "old" harbour', norm)
    assert quote_in_story("\u201cShe didn't look back\u201d", norm)
    assert quote_in_story("The rain fell ... back at the boats", norm)
    assert not quote_in_story("back at the boats ... The rain fell", norm)  # parts out of order
    # each elided part must carry evidence: short fragments found anywhere do not count
    assert not quote_in_story("The ... boats", norm) and not quote_in_story("The rain fell ... the boats", norm)
    assert not quote_in_story("she didn't look back", norm)  # case matters
    assert not quote_in_story("", norm)


def craft(scores, quotes=None):
    return parse_answer(C9, {k: {"score": v, "justification": "j", "quotes": (quotes or {}).get(k, [])} for k, v in scores.items()})


BASE = {f"C{i}": 6 for i in range(1, 10)}


def test_weighted_mean_and_na():
    r = score_answer(C9, craft(BASE), STORY)
    assert r.value == pytest.approx(5 / 9) and r.raw_total == pytest.approx(6)
    scores = {**BASE, "C2": 10, "C9": None}
    w = {"C2": 1.5, "C3": 1.25, "C5": 1.25}
    mean = sum(w.get(k, 1.0) * v for k, v in scores.items() if v is not None) / sum(w.get(k, 1.0) for k in scores if k != "C9")
    r = score_answer(C9, craft(scores, {"C2": ["The rain fell"]}), STORY)
    assert r.raw_total == pytest.approx(mean) and r.value == pytest.approx((mean - 1) / 9)
    assert r.per_dimension["C9"] is None


def test_weighted_mean_caps():
    r = score_answer(C9, craft({**BASE, "C3": 2, "C2": 10}), STORY)
    assert r.value == pytest.approx(0.3) and any(f.startswith("cap:") for f in r.flags)
    r = score_answer(C9, craft({**{k: 1 for k in BASE}, "C3": 2}), STORY)
    assert r.value < 0.3 and not any(f.startswith("cap:") for f in r.flags)  # already below the cap


def test_fabricated_and_missing_quotes():
    quotes = {"C4": ["a sentence that is not in the story"], "C5": ["The rain fell on the"]}
    ans = craft({**BASE, "C4": 9, "C5": 8, "C6": 8, "C7": 3}, quotes)
    r = score_answer(C9, ans, STORY)
    assert r.fabricated_quotes == [("C4", "a sentence that is not in the story")]
    assert "fabricated_quote:C4" in r.flags and "missing_quote:C6" in r.flags and "missing_quote:C7" in r.flags
    assert "missing_quote:C5" not in r.flags and r.per_dimension["C4"] == 9
    z = score_answer(C9, ans, STORY, fabricated_quote_policy="zero_dimension")
    assert z.per_dimension["C4"] == 1 and z.value < r.value
    c = score_answer(C9, ans, STORY, fabricated_quote_policy="cap_dimension")
    assert c.per_dimension["C4"] == 5 and z.value < c.value < r.value
    with pytest.raises(ValueError):
        score_answer(C9, ans, STORY, fabricated_quote_policy="ignore")


def test_long_quote_flagged_and_negatives_not_lowered():
    long_q = "The rain fell on the \"old\" harbour. She didn't look back at the boats."
    ans = pol_answer(20, 10, quotes={"P1": [long_q], "N1": ["invented evidence"]})
    r = score_answer(POL, ans, STORY, fabricated_quote_policy="zero_dimension")
    assert "long_quote:P1" in r.flags and "fabricated_quote:P1" not in r.flags
    assert "fabricated_quote:N1" in r.flags and r.per_dimension["N1"] == 10  # never lowered


def test_quote_normalisation_collapses_exactly_regex_whitespace():
    """normalise_for_quotes splits with str.split(): the same characters as the regex \\s, and the
    same result as substituting \\s+ by one space and stripping."""
    import re
    import sys

    from polaris.rubric import normalise_for_quotes

    ws = re.compile(r"\s")
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if bool(ws.fullmatch(c)) != c.isspace()] == []
    spaces = "".join(c for c in map(chr, range(0x3100)) if c.isspace())
    text = f"{spaces} “He\u00a0said”\t\t‘no’\x1c\x1d end\u2028\u3000x {spaces}"
    folded = text.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "\u00a0": " "}))
    assert normalise_for_quotes(text) == re.sub(r"\s+", " ", folded).strip() == "\"He said\" 'no' end x"
