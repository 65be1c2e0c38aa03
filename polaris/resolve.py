"""Recipe-relative files: resolving the paths a recipe names and checking the local ones.

A relative path is relative to the file that set it (so a base recipe's paths keep working when
another recipe extends it); a path given with --set is relative to the working directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RecipeFile", "recipe_files", "resolve_recipe_path", "check_files", "problem_at", "rubric_ref"]


@dataclass(frozen=True)
class RecipeFile:
    """One file a recipe refers to."""

    key: str  #: dotted key path, e.g. data.train.path
    path: Path  #: resolved path (absolute when local)
    location: str  #: 'local' (read at compile time) or 'cluster' (recorded, read on the cluster)
    role: str  #: 'data' | 'references' | 'rubric' | 'chat_template'


def _source_dir(loaded: Any, key: str) -> Path:
    sources = loaded.provenance.get(key) or []
    for src in reversed(sources):
        if getattr(src, "kind", None) == "file" and getattr(src, "file", None):
            return Path(src.file).resolve().parent
    return Path.cwd()


def resolve_recipe_path(loaded: Any, key: str, value: str) -> Path:
    """Resolve `value` (set at dotted `key`) against the file that set it."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else (_source_dir(loaded, key) / p).resolve()


def rubric_ref(loaded: Any) -> str:
    """What `polaris.rubric.load_rubric` needs: the built-in name, or the rubric path resolved against its recipe."""
    ref = loaded.recipe.rubric
    if ref.builtin is not None:
        return ref.builtin
    return str(resolve_recipe_path(loaded, "rubric.path", ref.path))


def recipe_files(loaded: Any) -> list[RecipeFile]:
    """Every data, reference and rubric file the recipe names, resolved."""
    r = loaded.recipe
    out: list[RecipeFile] = []
    for split in ("train", "eval"):
        src = getattr(r.data, split)
        if src is not None and src.path is not None:
            key = f"data.{split}.path"
            path = resolve_recipe_path(loaded, key, src.path) if src.location == "local" else Path(src.path)
            out.append(RecipeFile(key, path, src.location, "data"))
    refs = r.data.references
    if refs is not None:
        key = "data.references.path"
        path = resolve_recipe_path(loaded, key, refs.path) if refs.location == "local" else Path(refs.path)
        out.append(RecipeFile(key, path, refs.location, "references"))
    if r.model.chat_template not in ("model", "none"):
        key = "model.chat_template"
        out.append(RecipeFile(key, resolve_recipe_path(loaded, key, r.model.chat_template), "local", "chat_template"))
    if r.rubric.path is not None:
        out.append(RecipeFile("rubric.path", resolve_recipe_path(loaded, "rubric.path", r.rubric.path), "local", "rubric"))
    return out


def problem_at(loaded: Any, key: str, message: str, hint: str = "") -> Any:
    """A `Problem` located where `key` (or its nearest parent) was set; the recipe file itself otherwise."""
    from polaris.recipe import Problem

    parts = key.split(".")
    while parts:
        for src in reversed(loaded.provenance.get(".".join(parts)) or []):
            if src.kind in ("file", "set") and src.line is not None:
                return Problem(src.file, src.line, src.col or 1, key, message, hint)
        parts.pop()
    return Problem(loaded.path or "<recipe>", 1, 1, key, message, hint)


def check_files(loaded: Any) -> list[Any]:
    """Problems for local files that are missing and for rubrics that do not load."""
    problems = []
    for f in recipe_files(loaded):
        if f.location == "local" and not f.path.is_file():
            problems.append(
                problem_at(
                    loaded,
                    f.key,
                    f"file not found: {f.path}",
                    "relative paths are relative to the recipe file that sets them; "
                    "use location: cluster for a file that exists only on the cluster",
                )
            )
    problems.extend(_check_rubric(loaded))
    return problems


def _check_rubric(loaded: Any) -> list[Any]:
    from polaris.rubric import RubricError, builtin_rubrics, load_rubric

    ref = loaded.recipe.rubric
    if ref.builtin is not None:
        names = sorted(builtin_rubrics())
        if ref.builtin not in names:
            return [problem_at(loaded, "rubric.builtin", f"unknown built-in rubric {ref.builtin!r}", f"built-in rubrics: {', '.join(names)}")]
        target: Any = ref.builtin
        key = "rubric.builtin"
    else:
        target = resolve_recipe_path(loaded, "rubric.path", ref.path)
        key = "rubric.path"
        if not Path(target).is_file():
            return []  # already reported by check_files
    try:
        spec = load_rubric(target)
    except RubricError as exc:
        return [problem_at(loaded, key, f"rubric does not load: {exc}", "fix the rubric file, then validate again")]
    known = [d.id for d in spec.dimensions]
    gate = loaded.recipe.reward.gate
    unknown = [d for d in gate.dimension_at_least if d not in known] if gate.enabled else []
    if unknown:
        return [
            problem_at(
                loaded,
                "reward.gate.dimension_at_least",
                f"reward.gate.dimension_at_least names {', '.join(unknown)}, not dimensions of rubric {spec.name!r}",
                f"the rubric's dimensions: {', '.join(known)}",
            )
        ]
    return []
