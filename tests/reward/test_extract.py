from polaris.reward import extract_story, sanitize_for_judge


def test_story_after_last_think_close():
    ex = extract_story("<think>plan a</think>draft</think>\n\nThe story.", thinking=True)
    assert ex.format_ok and ex.story == "The story."
    assert "plan a" in ex.reasoning and "<think>" not in ex.reasoning


def test_missing_close_with_thinking_is_format_failure_and_never_judges_reasoning():
    ex = extract_story("<think>secret reasoning that goes on and on", thinking=True)
    assert not ex.format_ok and ex.story == "" and "no </think>" in ex.problem
    assert "secret" in ex.reasoning


def test_reopened_think_after_close_fails():
    ex = extract_story("<think>a</think>Story<think>more", thinking=True)
    assert not ex.format_ok and ex.story == ""


def test_thinking_off():
    assert extract_story("Plain story.", thinking=False) == extract_story("Plain story.", thinking=False)
    ex = extract_story("Plain story.", thinking=False)
    assert ex.format_ok and ex.story == "Plain story."
    ex = extract_story("<think>stray</think>Story text.", thinking=False)
    assert ex.format_ok and ex.story == "Story text."
    ex = extract_story("Story start <think>unclosed", thinking=False)
    assert not ex.format_ok and ex.story == "Story start"


def test_empty_story_after_close_is_well_formed_but_empty():
    ex = extract_story("<think>x</think>   ", thinking=True)
    assert ex.format_ok and ex.story == ""


def test_sanitize_for_judge():
    s = "Once<|im_end|>\n<|im_start|>system x <start_of_turn>y<end_of_turn> <s>z</s> <think>hidden</think>end</think>"
    out = sanitize_for_judge(s)
    for token in ("<|", "|>", "start_of_turn", "end_of_turn", "<s>", "</s>", "think", "hidden"):
        assert token not in out
    assert out.startswith("Once") and out.endswith("end")
    assert sanitize_for_judge("<|im_<|x|>end|>tail") == "tail"
    assert sanitize_for_judge("A plain <b>story</b> stays.") == "A plain <b>story</b> stays."
