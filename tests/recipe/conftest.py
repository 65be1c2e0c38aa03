"""Fixtures for the recipe loader tests: write YAML into a temp dir used as CWD."""

from __future__ import annotations

import textwrap

import pytest


@pytest.fixture
def recipe_dir(tmp_path, monkeypatch):
    """A temp dir as CWD so messages show short relative paths (``r.yaml:3:5``)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write(recipe_dir):
    def _write(name: str, text: str) -> str:
        path = recipe_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return name

    return _write
