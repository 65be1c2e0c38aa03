"""``load_recipe``: files + ``extends`` + ``--set`` -> validated model, or one ``RecipeError``.

Steps: read the recipe and its ``extends`` chain (``_extends``), apply the overrides
(``_overrides``), check ``recipe_version``, validate with the model, attach provenance. Problems
of every step are collected and raised together. Schema validation is skipped only when a file
could not be read or parsed (or a base was missing / cyclic): the document is then incomplete and
"missing key" errors would be noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ._extends import RecipeFile, resolve_extends
from ._overrides import apply_sets
from ._problems import Problem, RecipeError
from ._provenance import Provenance, Source, build_provenance
from ._validate import VERSION_FIELD, recipe_version_problem, validation_problems

__all__ = ["LoadedRecipe", "load_recipe"]


@dataclass
class LoadedRecipe:
    """A validated recipe and how it was put together."""

    recipe: BaseModel
    """The validated model instance."""
    data: dict[str, Any]
    """The merged input as plain data (after ``extends`` and ``--set``; no ``extends``/``_replace``)."""
    provenance: Provenance
    """dotted path -> list of :class:`Source` (winning source last), for every node of the recipe."""
    files: list[RecipeFile]
    """Every file read, in reading order (the recipe first), with its sha256."""
    sets: list[str] = field(default_factory=list)
    """The ``--set`` overrides, in order."""
    path: str = ""
    """The recipe path as given."""

    def explain(self, key_path: str) -> list[Source]:
        """Sources of ``key_path`` in override order (default < extends chain < file < --set)."""
        return self.provenance.explain(key_path)


def _default_model() -> type[BaseModel]:
    from polaris.schema import Recipe  # lazy: the schema package may import more later

    return Recipe


def load_recipe(path: str, sets: Sequence[str] = (), *, model: type[BaseModel] | None = None) -> LoadedRecipe:
    """Load, merge, override and validate a recipe.

    ``path`` is shown in messages as given. ``sets`` are ``key.path=value`` overrides applied in
    order. ``model`` defaults to ``polaris.schema.Recipe``. Raises :class:`RecipeError` with every
    problem found; never another exception for a mistake in the input.
    """
    if model is None:
        model = _default_model()
    path = str(path)
    sets = list(sets)
    res = resolve_extends(path)
    problems: list[Problem] = list(res.problems)
    doc = res.doc
    if doc is None:
        raise RecipeError(problems)
    problems += apply_sets(doc, sets)
    skip: set[str] = set()
    version_problem = recipe_version_problem(model, doc)
    if version_problem is not None:
        problems.append(version_problem)
        skip.add(VERSION_FIELD)
    instance = None
    if res.complete:
        try:
            instance = model.model_validate(doc.data)
        except ValidationError as exc:
            problems += validation_problems(exc, doc, model, skip)
    if problems or instance is None:
        raise RecipeError(problems or [Problem(path, 1, 1, "", "recipe could not be loaded")])
    return LoadedRecipe(recipe=instance, data=doc.data, provenance=build_provenance(instance, doc.hist),
                        files=res.files, sets=sets, path=path)
