"""Shared fixtures for judge tests: the fake OpenAI server, a rubric, judge configs."""

import sys
from pathlib import Path

_FAKES = str(Path(__file__).resolve().parents[1] / "fakes")
if _FAKES not in sys.path:
    sys.path.insert(0, _FAKES)
