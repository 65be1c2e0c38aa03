import json

import pytest

from polaris.rubric import AnswerError, answer_schema, load_rubric, parse_answer

jsonschema = pytest.importorskip("jsonschema")
POL = load_rubric("polaris-story-quality")
C9 = load_rubric("story-craft-9")


def make_answer(spec, score=None, **override):
    out = {}
    for d in spec.dimensions:
        s = score if score is not None else d.min
        out[d.id] = {"score": override.get(d.id, s), "justification": "Because.", "quotes": []}
    return out


@pytest.mark.parametrize("spec", [POL, C9], ids=["polaris", "craft9"])
def test_schema_is_valid_and_round_trips(spec):
    schema = answer_schema(spec)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False and schema["required"] == [d.id for d in spec.dimensions]
    for d in spec.dimensions:
        sc = schema["properties"][d.id]["properties"]["score"]
        assert [x for x in sc["enum"] if x is not None] == list(range(d.min, d.max + 1))
        assert sc["minimum"] == d.min and sc["maximum"] == d.max
        assert schema["properties"][d.id]["properties"]["quotes"]["maxItems"] == 2
    ans = make_answer(spec)
    jsonschema.validate(ans, schema)
    parsed = parse_answer(spec, json.dumps(ans))
    assert parsed.scores == {d.id: d.min for d in spec.dimensions}


def test_na_only_where_allowed():
    schema = answer_schema(C9)
    ans = make_answer(C9, 5, C9=None)
    jsonschema.validate(ans, schema)
    assert parse_answer(C9, ans).scores["C9"] is None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(make_answer(C9, 5, C1=None), schema)
    with pytest.raises(AnswerError, match="C1: score is null"):
        parse_answer(C9, make_answer(C9, 5, C1=None))


def test_raw_newlines_and_fences_tolerated():
    text = json.dumps(make_answer(C9, 5)).replace('"Because."', '"Line one\nline two"')
    assert parse_answer(C9, text).dimensions["C1"].justification == "Line one\nline two"
    assert parse_answer(C9, "```json\n" + json.dumps(make_answer(C9, 6)) + "\n```").scores["C2"] == 6


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda a: "not json {", "not valid JSON"),
        (lambda a: "[1, 2]", "must be a JSON object"),
        (lambda a: {**a, "sneaky": 1}, "unexpected keys"),
        (lambda a: {k: v for k, v in a.items() if k != "C4"}, "missing dimensions"),
        (lambda a: {**a, "C1": {**a["C1"], "score": 11}}, "outside 1..10"),
        (lambda a: {**a, "C1": {**a["C1"], "score": 0}}, "outside 1..10"),
        (lambda a: {**a, "C1": {**a["C1"], "score": 7.5}}, "must be an integer"),
        (lambda a: {**a, "C1": {**a["C1"], "score": "7"}}, "must be an integer"),
        (lambda a: {**a, "C1": {**a["C1"], "score": True}}, "must be an integer"),
        (lambda a: {**a, "C1": {**a["C1"], "extra": 1}}, "unexpected keys"),
        (lambda a: {**a, "C1": {"score": 5, "quotes": []}}, "missing keys"),
        (lambda a: {**a, "C1": {**a["C1"], "quotes": "x"}}, "list of strings"),
        (lambda a: {**a, "C1": 5}, "expected an object"),
    ],
)
def test_invalid_answers_raise(mutate, match):
    bad = mutate(make_answer(C9, 5))
    with pytest.raises(AnswerError, match=match) as e:
        parse_answer(C9, bad if isinstance(bad, str) else json.dumps(bad))
    assert e.value.reason


def test_judge_totals_are_set_aside():
    ans = {**make_answer(POL), "overall_score": 108, "positive_total": 100}
    parsed = parse_answer(POL, ans)
    assert parsed.ignored == {"overall_score": 108, "positive_total": 100}


def test_soft_problems_recorded():
    ans = make_answer(C9, 5)
    ans["C2"]["quotes"] = ["a", "b", "c"]
    ans["C3"]["justification"] = "x" * 2000
    parsed = parse_answer(C9, ans)
    assert parsed.dimensions["C2"].quotes == ("a", "b")
    assert set(parsed.problems) == {"too_many_quotes:C2", "long_justification:C3"}
