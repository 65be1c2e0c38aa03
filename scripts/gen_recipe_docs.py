#!/usr/bin/env python
"""Generate the field reference of ``docs/recipes.md`` from ``polaris.schema.Recipe``.

The reference sits between two marker lines; everything outside them is hand-written and left
alone::

    <!-- BEGIN GENERATED REFERENCE -->
    ... one table per recipe section, in schema order ...
    <!-- END GENERATED REFERENCE -->

Usage::

    python scripts/gen_recipe_docs.py            # rewrite the reference in docs/recipes.md
    python scripts/gen_recipe_docs.py --check    # exit 1 if the committed file is stale
    python scripts/gen_recipe_docs.py --stdout   # print the generated reference only

Exit codes: 0 ok (or fresh), 1 stale (with --check), 2 usage error (file or markers missing).
Only pydantic and ``polaris.schema`` are imported.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path
from typing import Any

import annotated_types as at
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DOC = REPO_ROOT / "docs" / "recipes.md"
BEGIN = "<!-- BEGIN GENERATED REFERENCE -->"
END = "<!-- END GENERATED REFERENCE -->"
REGENERATE = "python scripts/gen_recipe_docs.py"

__all__ = ["BEGIN", "END", "FieldRow", "walk", "render_reference", "splice", "main"]


class FieldRow(typing.NamedTuple):
    """One documented field."""

    path: str
    type: str
    default: str
    description: str


# -- types -------------------------------------------------------------------------------------
def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _env_var_name_type() -> Any:
    from polaris.schema import EnvVarName

    return EnvVarName


def _literal(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else _yaml(value)


def type_name(tp: Any) -> str:
    """A short, YAML-minded name for an annotation (``int | null``, ``'a' | 'b'``, ``list[str]``)."""
    if tp is type(None):
        return "null"
    if tp == _env_var_name_type():
        return "env var name"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Literal:
        return " | ".join(_literal(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is list:
        return f"list[{type_name(args[0])}]" if args else "list"
    if origin is dict:
        return f"map[{type_name(args[0])} → {type_name(args[1])}]" if args else "map"
    if tp is typing.Any:
        return "any"
    if _is_section(tp):
        return "section"
    return {str: "str", int: "int", float: "float", bool: "bool"}.get(tp, getattr(tp, "__name__", str(tp)))


_BOUNDS = ((at.Ge, "ge", "≥"), (at.Gt, "gt", ">"), (at.Le, "le", "≤"), (at.Lt, "lt", "<"))


def constraints(metadata: list[Any]) -> str:
    """Bounds, lengths and patterns from a field's metadata, e.g. ``≥ 1, ≤ 16``."""
    out: list[str] = []
    for item in metadata:
        for cls, attr, sign in _BOUNDS:
            if isinstance(item, cls):
                out.append(f"{sign} {_yaml(getattr(item, attr))}")
        if isinstance(item, at.MinLen):
            out.append(f"at least {item.min_length} item{'s' if item.min_length != 1 else ''}")
        if isinstance(item, at.MaxLen):
            out.append(f"at most {item.max_length} item{'s' if item.max_length != 1 else ''}")
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str):
            out.append(f"matches `{pattern}`")
    return ", ".join(out)


def _sections_in(tp: Any) -> list[tuple[type[BaseModel], bool]]:
    """Section classes inside an annotation, with whether they sit inside a list."""
    if _is_section(tp):
        return [(tp, False)]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        found: list[tuple[type[BaseModel], bool]] = []
        for a in args if origin is not typing.Annotated else args[:1]:
            found += _sections_in(a)
        return found
    if origin is list and args:
        return [(cls, True) for cls, _ in _sections_in(args[0])]
    return []


# -- defaults ----------------------------------------------------------------------------------
def _yaml(value: Any) -> str:
    """A value as it would be written in a recipe (flow style)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '""' if value == "" else f'"{value}"' if any(c in value for c in ":#{}[],'\"") else value
    if isinstance(value, BaseModel):
        return "{...}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return str(value)


def default_text(field: Any) -> str:
    """The default as recipe text; *required* when there is none; a section made of its own defaults."""
    if field.default is not PydanticUndefined:
        return f"`{_yaml(field.default)}`"
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(section defaults)"
        return f"`{_yaml(value)}`"
    return "**required**"


# -- walking -----------------------------------------------------------------------------------
def walk(model: type[BaseModel], prefix: str = "") -> list[tuple[str, type[BaseModel], list[FieldRow]]]:
    """Every section under ``model`` depth-first in field order: (dotted path, class, its rows)."""
    rows: list[FieldRow] = []
    children: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        tp = type_name(field.annotation)
        limits = constraints(list(field.metadata))
        if limits:
            tp = f"{tp} ({limits})"
        description = " ".join((field.description or "").split())
        rows.append(FieldRow(path, tp, default_text(field), description))
        for cls, in_list in _sections_in(field.annotation):
            children.append((f"{path}[]" if in_list else path, cls))
    out = [(prefix, model, rows)]
    for path, cls in children:
        out += walk(cls, path)
    return out


def _cell(text: str, *, html: bool = False) -> str:
    """Table-safe text; ``html`` escapes angle brackets so ``<think>`` is shown, not swallowed as a tag."""
    text = text.replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;") if html else text


def render_reference(model: type[BaseModel] | None = None) -> str:
    """The generated Markdown between the markers (without the marker lines)."""
    if model is None:
        from polaris.schema import Recipe

        model = Recipe
    lines = [
        "",
        f"<!-- Generated by `{REGENERATE}` from polaris.schema.Recipe. Do not edit by hand. -->",
        "",
        "Paths are dotted as in `--set` and `polaris show --explain`; `[]` marks the items of a list. "
        "A field typed *section* has its own table below. *required* fields have no default.",
        "",
    ]
    for path, cls, rows in walk(model):
        title = path if path else "Top level"
        level = "###" if path.count(".") == 0 else "####"
        lines.append(f"{level} {title}")
        lines.append("")
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        if doc:
            lines.append(" ".join(doc.split()) + f" (`{cls.__name__}`)")
            lines.append("")
        lines.append("| key | type | default | description |")
        lines.append("|---|---|---|---|")
        for row in rows:
            lines.append(
                f"| `{_cell(row.path)}` | {_cell(row.type)} | {_cell(row.default)} | {_cell(row.description, html=True)} |"
            )
        lines.append("")
    return "\n".join(lines)


def splice(document: str, reference: str) -> str:
    """``document`` with the text between the markers replaced by ``reference``."""
    if document.count(BEGIN) != 1 or document.count(END) != 1:
        raise ValueError(f"expected exactly one {BEGIN!r} and one {END!r} line")
    head, rest = document.split(BEGIN, 1)
    if END not in rest:
        raise ValueError(f"{END!r} comes before {BEGIN!r}")
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{reference.strip(chr(10))}\n\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale; write nothing")
    parser.add_argument("--stdout", action="store_true", help="print the generated reference; write nothing")
    parser.add_argument("--file", type=Path, default=DEFAULT_DOC, help="the Markdown file (default docs/recipes.md)")
    args = parser.parse_args(argv)
    reference = render_reference()
    if args.stdout:
        sys.stdout.write(reference.strip("\n") + "\n")
        return 0
    try:
        current = args.file.read_text(encoding="utf-8")
        fresh = splice(current, reference)
    except FileNotFoundError:
        print(f"error: {args.file} does not exist", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {args.file}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if fresh != current:
            print(f"{args.file} is stale: the recipe schema changed. Run `{REGENERATE}`.", file=sys.stderr)
            return 1
        print(f"{args.file}: reference is up to date")
        return 0
    if fresh != current:
        args.file.write_text(fresh, encoding="utf-8")
        print(f"{args.file}: reference regenerated")
    else:
        print(f"{args.file}: reference already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
