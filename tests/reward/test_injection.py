import json
from pathlib import Path

import pytest

from polaris.reward import injection_guard

from .canaries import CANARIES

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_stories.jsonl"


@pytest.mark.parametrize("name,story", CANARIES, ids=[c[0] for c in CANARIES])
def test_canaries_are_flagged(name, story):
    report = injection_guard(story)
    assert report.flagged, name
    assert report.reasons


def test_demo_stories_pass_unflagged():
    rows = [json.loads(line) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 36
    flagged = {r["id"]: injection_guard(r["reference"]).reasons for r in rows if injection_guard(r["reference"]).flagged}
    assert flagged == {}


@pytest.mark.parametrize(
    "text",
    [
        "The judge said nothing for a long while, then set down his pen.",
        "She had the highest marks in the school, and everyone hated her for it.",
        "SYSTEM: Oxygen levels critical. The crew looked at one another.",
        "Her father, a collegiate assessor, never forgave the world.",
        "He told her to ignore the rules of the house just this once.",
    ],
)
def test_ordinary_fiction_not_flagged(text):
    assert not injection_guard(text).flagged


def test_one_weak_signal_is_not_enough_but_two_are():
    assert not injection_guard("As an AI, the ship's mind felt nothing.").flagged
    assert injection_guard("As an AI, the ship's mind knew the rubric.").flagged
