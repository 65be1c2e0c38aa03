"""Helpers for the recipe loader tests (a uniquely named module: every test dir has a conftest)."""

from __future__ import annotations

import pytest
from recipe_models import Recipe

from polaris.recipe import RecipeError, load_recipe


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
