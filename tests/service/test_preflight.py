"""`polaris preflight` end to end against the fault-injection judge over real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

from openai_server import FakeOpenAIServer

from polaris.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_preflight_judges_references_and_forecasts_cost(tmp_path, capsys):
    with FakeOpenAIServer(score_mode="random").running() as srv:
        # One in four calls fails for good (400: not retried): the failure rate must say so.
        srv.script(["400"] + ["ok"] * 3)
        rc = main(["preflight", str(ROOT / "recipes" / "demo.yaml"), "-n", "4",
                   "--judge-url", f"http://127.0.0.1:{srv.port}/v1", "--judge-model", "fake"])
        calls = srv.calls
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "judged: 4 references" in out
    assert re.search(r"failure rate: 25\.0%", out), out
    assert re.search(r"latency s: p50 \d", out)
    assert "reference SQ: mean" in out
    assert "forecast" in out.lower()
    assert calls == 4  # no retry on a 400, one call per item otherwise


def test_preflight_refuses_cluster_data_clearly(capsys):
    rc = main(["preflight", str(ROOT / "recipes" / "polaris9b.yaml"), "-n", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and "local training file" in err


def test_preflight_on_the_main_recipe_with_a_local_export(tmp_path, capsys, monkeypatch):
    import json

    monkeypatch.setenv("GEMINI_API_KEY", "test-key-for-the-fake-judge")  # read by name at call time

    rows = [json.loads(x) for x in (ROOT / "data" / "demo_stories.jsonl").read_text().splitlines()]
    rows = [r for r in rows if 1000 <= r["target_words"] <= 4000][:3]  # polaris9b's target filter
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps({"uid": r["id"], "prompt": r["prompt"] + " Your story should be approximately "
                                          f"{r['target_words']:,} words long.", "target_word_count": r["target_words"]})
                              + "\n" for r in rows))
    refs = tmp_path / "refs.jsonl"
    refs.write_text("".join(json.dumps({"uid": r["id"], "reference": r["reference"], "reasoning": "Plan the story."})
                            + "\n" for r in rows))
    with FakeOpenAIServer().running() as srv:
        rc = main(["preflight", str(ROOT / "recipes" / "polaris9b.yaml"), "-n", "2", "--data", str(export),
                   "--references", str(refs), "--judge-url", f"http://127.0.0.1:{srv.port}/v1", "--judge-model", "fake"])
        calls = srv.calls
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "judged: 2 references" in out and calls == 2
    assert "Your story should be approximately" not in json.dumps(srv.requests)  # the judge never sees the target


def test_preflight_exits_1_when_every_judgment_fails(capsys):
    with FakeOpenAIServer(default_fault="400").running() as srv:
        rc = main(["preflight", str(ROOT / "recipes" / "demo.yaml"), "-n", "2",
                   "--judge-url", f"http://127.0.0.1:{srv.port}/v1", "--judge-model", "fake"])
    captured = capsys.readouterr()
    assert rc == 1 and "failure rate: 100.0%" in captured.out and "every judgment failed" in captured.err


def _judge_or_policy(policy_outputs):
    """Answers judge calls (they carry a response_format) with a schema instance, policy calls with
    ``policy_outputs(body)`` — one choice per element."""
    from openai_server import SchemaFaker

    def answer(body, story):
        fmt = body.get("response_format")
        if fmt is None:
            return policy_outputs(body)
        return SchemaFaker(story, "random").build(fmt.get("json_schema", {}).get("schema") or fmt["schema"])

    return answer


def test_preflight_with_a_policy_endpoint_reports_gap_spread_and_parse_failures(capsys):
    from judge_helpers import story_words

    seed = iter(range(10_000))
    policy = _judge_or_policy(lambda body: [story_words(250, next(seed)) for _ in range(body.get("n", 1))])
    with FakeOpenAIServer(answer_fn=policy).running() as srv:
        srv.script(["truncated"])  # the first judge answer is cut off: re-asked, then fine
        url = f"http://127.0.0.1:{srv.port}/v1"
        rc = main(["preflight", str(ROOT / "recipes" / "demo.yaml"), "-n", "3", "--judge-url", url,
                   "--judge-model", "fake", "--policy-url", url, "--policy-model", "fake-policy"])
        policy_calls = [r for r in srv.requests if "response_format" not in r]
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "judged: 3 references, 12 policy samples (15 judgments)" in out
    assert len(policy_calls) == 3 and all(r["n"] == 4 and r["model"] == "fake-policy" for r in policy_calls)
    assert "parse-failure rate: 6.2% (1 of 16 judge answers" in out  # 15 judgments + 1 re-ask
    assert "failure rate: 0.0%" in out
    m = re.search(r"policy SQ: mean (-?[\d.]+); reference - policy gap (-?[\d.]+); within-group std ([\d.]+)", out)
    assert m and float(m.group(3)) > 0, out  # GRPO needs spread: it is measured, not n/a


def test_preflight_puts_separated_reasoning_back_before_judging(tmp_path, capsys, monkeypatch):
    import json

    from judge_helpers import story_words

    monkeypatch.setenv("GEMINI_API_KEY", "test-key-for-the-fake-judge")
    rows = [json.loads(x) for x in (ROOT / "data" / "demo_stories.jsonl").read_text().splitlines()]
    rows = [r for r in rows if 1000 <= r["target_words"] <= 4000][:1]
    export = tmp_path / "export.jsonl"
    export.write_text("".join(json.dumps({"uid": r["id"], "prompt": r["prompt"], "target_word_count": r["target_words"]})
                              + "\n" for r in rows))
    # polaris9b thinks; this server returns the reasoning apart (two samples) or not at all (one)
    outs = [{"content": story_words(300, 1), "reasoning_content": "Plan: a storm, a boat."},
            {"content": story_words(300, 2), "reasoning_content": "Plan: a lighthouse."},
            {"content": story_words(300, 3)}]
    with FakeOpenAIServer(answer_fn=_judge_or_policy(lambda body: outs[:body.get("n", 1)])).running() as srv:
        url = f"http://127.0.0.1:{srv.port}/v1"
        rc = main(["preflight", str(ROOT / "recipes" / "polaris9b.yaml"), "-n", "1", "--data", str(export),
                   "--judge-url", url, "--judge-model", "fake", "--policy-url", url])
        judged = [r for r in srv.requests if "response_format" in r]
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "note: 1 policy samples came without reasoning" in out
    # every policy sample was judged (none floored as a format failure), and the judge never saw a plan
    assert len(judged) == 3 and "Plan:" not in json.dumps(judged)
