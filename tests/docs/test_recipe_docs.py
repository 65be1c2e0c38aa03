"""The generated field reference in docs/recipes.md must match polaris.schema.Recipe."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_recipe_docs.py"
DOC = REPO / "docs" / "recipes.md"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_recipe_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    return _load_generator()


def test_committed_reference_is_fresh():
    """CI fails here when the schema changed without `python scripts/gen_recipe_docs.py`."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr + proc.stdout


def _all_field_paths(model, prefix=""):
    """Independent walk over the pydantic models (does not reuse the generator's walker)."""
    from pydantic import BaseModel

    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        out.append(path)
        stack = [(field.annotation, False)]
        while stack:
            tp, in_list = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                out += _all_field_paths(tp, f"{path}[]" if in_list else path)
                continue
            origin = getattr(tp, "__origin__", None)
            for arg in getattr(tp, "__args__", ()) or ():
                stack.append((arg, in_list or origin is list))
    return out


def test_every_schema_field_is_documented_with_its_description(gen):
    from polaris.schema import Recipe

    text = gen.render_reference()
    paths = _all_field_paths(Recipe)
    assert "grpo.sampling.temperature" in paths and "judge.panel.members[].model" in paths
    for path in paths:
        assert f"| `{path}` |" in text, f"{path} missing from the generated reference"
    # A description and a default from the schema appear in the row of their field.
    row = next(line for line in text.splitlines() if line.startswith("| `grpo.samples_per_prompt` |"))
    field = Recipe.model_fields["grpo"].annotation.model_fields["samples_per_prompt"]
    assert field.description.split()[0] in row
    assert f"`{field.default}`" in row
    assert "(≥ 1)" in row


def test_sections_follow_schema_order(gen):
    from polaris.schema import Recipe

    text = gen.render_reference()
    positions = [text.index(f"\n### {name}\n") for name in Recipe.model_fields if f"\n### {name}\n" in text]
    assert len(positions) >= 10  # every top-level section has a table
    assert positions == sorted(positions)


def test_required_and_derived_fields_are_marked(gen):
    text = gen.render_reference()
    name_row = next(line for line in text.splitlines() if line.startswith("| `name` |"))
    assert "**required**" in name_row
    tbs = next(line for line in text.splitlines() if line.startswith("| `grpo.train_batch_size` |"))
    assert "`null`" in tbs and "prompts_per_step x" in tbs


def test_splice_keeps_handwritten_text(gen):
    doc = f"intro\n{gen.BEGIN}\nold\n{gen.END}\noutro\n"
    out = gen.splice(doc, "NEW")
    assert out.startswith("intro\n") and out.endswith("\noutro\n")
    assert "old" not in out and "NEW" in out
    with pytest.raises(ValueError):
        gen.splice("no markers here", "NEW")
    with pytest.raises(ValueError):
        gen.splice(f"{gen.END}\n{gen.BEGIN}\n", "NEW")


def test_check_detects_a_stale_file_and_regeneration_fixes_it(gen, tmp_path):
    stale = DOC.read_text(encoding="utf-8").replace("| `grpo.lr` |", "| `grpo.learning_rate` |")
    target = tmp_path / "recipes.md"
    target.write_text(stale, encoding="utf-8")
    assert gen.main(["--check", "--file", str(target)]) == 1
    assert target.read_text(encoding="utf-8") == stale  # --check writes nothing
    assert gen.main(["--file", str(target)]) == 0
    assert gen.main(["--check", "--file", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")


def test_missing_markers_is_a_usage_error(gen, tmp_path):
    target = tmp_path / "x.md"
    target.write_text("# nothing generated here\n", encoding="utf-8")
    assert gen.main(["--check", "--file", str(target)]) == 2
    assert gen.main(["--check", "--file", str(tmp_path / "absent.md")]) == 2
