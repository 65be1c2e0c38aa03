"""The library API behind the CLI. Every command is a thin wrapper over one of these."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["validate_recipe", "show_text", "explain", "recipe_json_schema"]

SCHEMA_ID = "https://polaris-storyrl.dev/schemas/recipe.schema.json"


def validate_recipe(path: str, sets: list[str] | None = None) -> list[Any]:
    """All problems of one recipe (schema, cross-field, files, rubric) as `Problem`s; [] when valid."""
    from polaris.recipe import RecipeError, load_recipe
    from polaris.resolve import check_files

    try:
        loaded = load_recipe(path, list(sets or []))
    except RecipeError as err:
        return list(err.problems)
    return check_files(loaded)


def show_text(loaded: Any, *, resolved: bool, as_json: bool) -> str:
    """The recipe as YAML or JSON: every value when `resolved`, else only what files and --set gave."""
    from polaris.recipe import dump_resolved

    if as_json:
        data = loaded.recipe.model_dump(mode="json") if resolved else loaded.data
        return json.dumps(data, indent=2) + "\n"
    if resolved:
        return dump_resolved(loaded)
    from io import StringIO

    from ruamel.yaml import YAML

    buf = StringIO()
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.dump(loaded.data, buf)
    return buf.getvalue()


def explain(loaded: Any, key: str) -> list[dict[str, Any]]:
    """Every source that set `key`, lowest precedence first; the last one wins."""
    out = []
    for s in loaded.explain(key):
        where = s.file if s.line is None else f"{s.file}:{s.line}:{s.col}"
        out.append({"kind": s.kind, "source": where, "value": s.text})
    # Values left null and filled in by a derive_* validator (e.g. grpo.max_len) get a last entry.
    resolved = _lookup(loaded.recipe.model_dump(mode="json"), key)
    if out and out[-1]["kind"] == "default" and out[-1]["value"] in ("null", "None") and resolved is not None:
        out.append({"kind": "derived", "source": "<derived from other fields>", "value": json.dumps(resolved)})
    return out


def _lookup(data: Any, key: str) -> Any:
    from polaris.recipe import parse_path

    node = data
    for seg in parse_path(key)[0]:
        try:
            node = node[seg]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def recipe_json_schema() -> str:
    """The JSON Schema of the recipe language, as committed in schemas/recipe.schema.json."""
    from polaris.schema import Recipe

    schema = Recipe.model_json_schema()
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"
