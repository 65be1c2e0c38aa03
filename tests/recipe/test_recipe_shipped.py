"""Every shipped recipe in recipes/ loads with the real schema (skipped until the schema exists)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polaris.recipe import LoadedRecipe, RecipeError, dump_resolved, load_recipe, recipe_hash

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))

schema = pytest.importorskip("polaris.schema")
if not hasattr(schema, "Recipe"):
    pytest.skip("polaris.schema.Recipe not written yet", allow_module_level=True)


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_shipped_recipe_loads(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    rel = str(path.relative_to(ROOT))
    loaded = load_recipe(rel)
    assert isinstance(loaded.recipe, schema.Recipe)
    assert loaded.files[0].path == rel
    assert len(recipe_hash(loaded)) == 64
    # every value has a winning source, and the resolved dump loads again to the same recipe
    assert all(loaded.provenance[k] for k in loaded.provenance)
    assert dump_resolved(loaded)


@pytest.mark.skipif(not RECIPES, reason="no shipped recipes")
@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 10**6), line=st.integers(0, 10**6),
       edit=st.sampled_from(["drop", "dup", "indent", "junk_key", "junk_value"]),
       junk=st.sampled_from(["abc", "-1", "[1, 2]", "{a: 1}", "null", "no", "1e9", "'x'"]))
def test_mutated_shipped_recipe_never_crashes(index, line, edit, junk):
    path = RECIPES[index % len(RECIPES)]
    lines = path.read_text().splitlines()
    i = line % len(lines)
    if edit == "drop":
        del lines[i]
    elif edit == "dup":
        lines.insert(i, lines[i])
    elif edit == "indent":
        lines[i] = "  " + lines[i]
    elif edit == "junk_key":
        lines.insert(i, "zz_unknown: 1")
    elif ":" in lines[i] and not lines[i].lstrip().startswith("#"):
        lines[i] = lines[i].split(":", 1)[0] + ": " + junk
    with tempfile.TemporaryDirectory() as d:
        # keep relative `extends` and data paths working: write next to copies of the originals
        for other in RECIPES:
            Path(d, other.name).write_text(other.read_text())
        target = Path(d, path.name)
        target.write_text("\n".join(lines) + "\n")
        try:
            outcome = load_recipe(os.fspath(target))
            assert isinstance(outcome, LoadedRecipe)
        except RecipeError as exc:
            assert exc.problems
            for p in exc.problems:
                assert p.file and p.line >= 1 and p.col >= 1 and p.message
