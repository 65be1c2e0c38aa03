"""Recipe loading: YAML files + ``extends`` + ``--set`` -> a validated model, errors at file:line:col.

Public API::

    loaded = load_recipe("recipes/demo.yaml", ["grpo.samples_per_prompt=8"])
    loaded.recipe            # the pydantic model (polaris.schema.Recipe by default)
    loaded.explain("grpo.samples_per_prompt")   # [Source(default ...), Source(file ...), Source(set ...)]
    dump_resolved(loaded); recipe_hash(loaded); diff_recipes(a, b)

Precedence (lowest first): schema defaults < ``extends`` chain (base first) < the recipe file <
each ``--set`` in order. Merge rules: mappings merge recursively; scalars and lists are replaced
wholesale; ``null`` is a value; ``_replace: true`` in a mapping replaces the inherited mapping.
Every user mistake raises :class:`RecipeError` holding all :class:`Problem`\\ s at once.
"""

from ._doc import render_value
from ._extends import EXTENDS_KEY, RecipeFile
from ._load import LoadedRecipe, load_recipe
from ._merge import REPLACE_KEY
from ._output import ABSENT, canonical_json, diff_recipes, dump_resolved, recipe_hash
from ._overrides import SET_FILE
from ._paths import format_path, parse_path
from ._problems import Problem, RecipeError
from ._provenance import Provenance, Source
from ._yaml import find_position

__all__ = [
    "ABSENT",
    "EXTENDS_KEY",
    "LoadedRecipe",
    "Problem",
    "Provenance",
    "REPLACE_KEY",
    "RecipeError",
    "RecipeFile",
    "SET_FILE",
    "Source",
    "canonical_json",
    "diff_recipes",
    "dump_resolved",
    "find_position",
    "format_path",
    "load_recipe",
    "parse_path",
    "recipe_hash",
    "render_value",
]
