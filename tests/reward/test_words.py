import json
from pathlib import Path

import pytest

from polaris.reward import WORD_RULES, count_words, parse_target_words, render_length_instruction, strip_length_instruction

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_stories.jsonl"


def test_word_rules_documented_and_counted():
    text = "She didn't stop &amp; the 3 well-known dogs ran."
    # unescaped: She didn t stop the 3 well known dogs ran ("&" is not \w)
    assert count_words(text, "polaris_w") == 10
    # She didn't stop amp the 3 well-known dogs ran (no unescape; joined by ' and -)
    assert count_words(text, "unicode_words") == 9
    # nine whitespace tokens
    assert count_words(text, "whitespace") == 9
    # She didn t stop amp the well known dogs ran (digits ignored)
    assert count_words(text, "longwriter") == 10
    assert all(fn.__doc__ for fn in WORD_RULES.values())


def test_polaris_contraction_counts_twice():
    assert count_words("didn't", "polaris_w") == 2
    assert count_words("didn't", "unicode_words") == 1


def test_longwriter_counts_cjk_characters():
    assert count_words("我爱你 hello 42", "longwriter") == 4


def test_unknown_rule():
    with pytest.raises(ValueError, match="unknown word rule"):
        count_words("x", "bogus")


def test_demo_word_counts_match_unicode_rule():
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert all(count_words(r["reference"], "unicode_words") == r["word_count"] for r in rows)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Your story should be approximately 2,500 words long.", 2500),
        ("It should be 12,000 words long.", 12000),
        ("Write 3k words.", 3000),
        ("Write a 1.5k-word story.", 1500),
        ("Write a 2500-word story.", 2500),
        ("about four thousand words", 4000),
        ("two thousand five hundred words long", 2500),
        ("between 2,000 and 2,500 words", 2250),
        ("A 500-word letter is read aloud. It should be 1,200 words long.", 1200),
        ("Write about 3 dogs and 2 cats.", None),
        ("Write a story without a word of dialogue.", None),
    ],
)
def test_parse_target_words(text, expected):
    assert parse_target_words(text) == expected


@pytest.mark.parametrize(
    "prompt,expected",
    [
        ("Write a story about a fox. Your story should be approximately 2,500 words long.", "Write a story about a fox."),
        ("Write an 800-word story about an owl.", "Write a story about an owl."),
        ("Write a 500-word story.\nMake it sad.", "Make it sad."),
        ("Tell a tale of the sea in about 3k words, with a twist.", "Tell a tale of the sea, with a twist."),
        ("Write about a ship. Aim for about 1200 words. End at dawn.", "Write about a ship. End at dawn."),
        ("Write a story without a word of dialogue.", "Write a story without a word of dialogue."),
    ],
)
def test_strip_length_instruction_regex(prompt, expected):
    out = strip_length_instruction(prompt)
    assert out == expected
    assert parse_target_words(out) is None


def test_strip_by_template_accepts_any_number_format():
    tpl = ["The story should run to roughly {target_words} words."]
    for n in ("2300", "2,300", "2.3k"):
        out = strip_length_instruction(f"Write about a ship. The story should run to roughly {n} words.", tpl)
        assert out == "Write about a ship."


def test_template_without_placeholder_rejected():
    with pytest.raises(ValueError):
        strip_length_instruction("x", ["no placeholder"])
    with pytest.raises(ValueError):
        render_length_instruction("no placeholder", 5)


def test_render_then_strip_round_trip():
    tpl = "Your story should be approximately {target_words:,} words long."
    rendered = render_length_instruction(tpl, 12000)
    assert rendered == "Your story should be approximately 12,000 words long."
    assert parse_target_words("Premise. " + rendered) == 12000
    assert strip_length_instruction("Premise here. " + rendered, [tpl]) == "Premise here."
    assert render_length_instruction("{target_words} words", 900) == "900 words"
