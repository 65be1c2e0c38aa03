"""Shared helpers for the recipe loader tests: write YAML into a temp dir and load it."""

from __future__ import annotations

import textwrap

import pytest
from recipe_models import Recipe

from polaris.recipe import RecipeError, load_recipe


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


def load(path, sets=(), model=Recipe):
    return load_recipe(path, sets, model=model)


def problems_of(path, sets=(), model=Recipe):
    with pytest.raises(RecipeError) as info:
        load_recipe(path, sets, model=model)
    return info.value.problems


def formatted(path, sets=(), model=Recipe) -> str:
    with pytest.raises(RecipeError) as info:
        load_recipe(path, sets, model=model)
    return info.value.format()
