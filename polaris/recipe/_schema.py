"""Just enough introspection of a pydantic model class to write good hints.

Works on any pydantic v2 model: walks field annotations through ``Annotated``, ``Optional``,
unions (plain and discriminated), lists, tuples and dicts. Everything here degrades to ``None`` /
empty results on shapes it does not understand: hints are a courtesy, never a crash.
"""

from __future__ import annotations

import enum
import types
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo

__all__ = ["LocInfo", "resolve_loc", "field_paths", "describe", "bounds", "allowed_values", "field_keys"]



@dataclass
class LocInfo:
    """What the schema says about the last segment of a pydantic error ``loc``."""

    model: type[BaseModel] | None  # the model that holds the last segment (None if unknown)
    field: FieldInfo | None  # the field of ``model`` named by the last segment, if any
    annotation: Any  # the expected type at ``loc`` (None if unknown)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _strip(tp: Any) -> tuple[Any, list]:
    """Remove ``Annotated`` and ``Optional``; return the core type and collected metadata."""
    meta: list = []
    while True:
        if get_origin(tp) is Annotated:
            args = get_args(tp)
            tp, meta = args[0], meta + list(args[1:])
            continue
        if _is_union(tp):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp, meta


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def field_keys(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Input keys (aliases where set) of a model's fields."""
    return {(f.alias or name): f for name, f in model.model_fields.items()}


def _union_member(tp: Any, seg: Any) -> Any:
    """The union member that pydantic names ``seg`` in a loc (class name, tag value, type label)."""
    for member in get_args(tp):
        core, _ = _strip(member)
        if _is_model(core):
            if core.__name__ == seg:
                return member
            for f in core.model_fields.values():
                lit, _ = _strip(f.annotation)
                if get_origin(lit) is Literal and seg in get_args(lit):
                    return member
        elif getattr(core, "__name__", None) == seg or str(core).replace("typing.", "") == seg:
            return member
    return None


def resolve_loc(root: type[BaseModel], loc: tuple) -> LocInfo:
    """Follow a pydantic error ``loc`` through the model's annotations."""
    tp: Any = root
    info = LocInfo(None, None, root)
    for seg in loc:
        core, _ = _strip(tp)
        if _is_union(core):
            member = _union_member(core, seg)
            if member is not None:  # a union label in the loc: pick the member, consume the segment
                tp = member
                info = LocInfo(info.model, info.field, member)
                continue
            # no label: take the first model member that has this field
            core = next((c for c in (_strip(m)[0] for m in get_args(core))
                         if _is_model(c) and seg in field_keys(c)), None)
        if _is_model(core):
            fields = field_keys(core)
            if seg not in fields:
                return LocInfo(core, None, None)
            tp = fields[seg].annotation
            info = LocInfo(core, fields[seg], _with_meta(fields[seg]))
        elif get_origin(core) in (list, tuple, set, frozenset) and isinstance(seg, int):
            args = [a for a in get_args(core) if a is not Ellipsis]
            tp = args[min(seg, len(args) - 1)] if get_origin(core) is tuple and len(args) > 1 else (
                args[0] if args else Any)
            info = LocInfo(None, None, tp)
        elif get_origin(core) is dict:
            args = get_args(core)
            tp = args[1] if len(args) == 2 else Any
            info = LocInfo(None, None, tp)
        elif isinstance(seg, str) and ("[" in seg or "-" in seg):
            continue  # validator labels such as function-after[...]
        else:
            return LocInfo(None, None, None)
    return info


def _with_meta(field: FieldInfo) -> Any:
    if field.metadata:
        return Annotated[(field.annotation, *field.metadata)]
    return field.annotation


def field_paths(root: type[BaseModel], name: str | None = None) -> list[str]:
    """Dotted paths of every field in the schema (only those called ``name`` if given).

    List items appear as ``[]`` (``data.filters[].kind``). Recursive models are visited once.
    """
    out: list[str] = []

    def walk(tp: Any, prefix: str, stack: tuple) -> None:
        core, _ = _strip(tp)
        if _is_union(core):
            for member in get_args(core):
                walk(member, prefix, stack)
        elif _is_model(core) and core not in stack:
            for key, f in field_keys(core).items():
                path = f"{prefix}.{key}" if prefix else key
                if (name is None or key == name) and path not in out:
                    out.append(path)
                walk(f.annotation, path, stack + (core,))
        elif get_origin(core) in (list, tuple, set, frozenset):
            for arg in get_args(core):
                if arg is not Ellipsis:
                    walk(arg, prefix + "[]", stack)
        elif get_origin(core) is dict and len(get_args(core)) == 2:
            walk(get_args(core)[1], prefix + ".<key>", stack)

    walk(root, "", ())
    return out


def allowed_values(tp: Any) -> list | None:
    """The values a ``Literal`` / ``Enum`` type accepts, else ``None``."""
    core, _ = _strip(tp)
    if _is_union(core):
        vals = [v for m in get_args(core) for v in (allowed_values(m) or [])]
        return vals or None
    if get_origin(core) is Literal:
        return list(get_args(core))
    if isinstance(core, type) and issubclass(core, enum.Enum):
        return [m.value for m in core]
    return None


def describe(tp: Any) -> str:
    """A short human name of a type: ``integer``, ``list of string``, ``'a' or 'b'``, ``X or null``."""
    if tp is None or tp is Any:
        return "any value"
    core, _ = _strip(tp)
    nullable = _is_union(tp) and type(None) in get_args(tp)
    if get_origin(tp) is Annotated:
        inner = get_args(tp)[0]
        nullable = _is_union(inner) and type(None) in get_args(inner)
    text = _describe_core(core)
    return f"{text} or null" if nullable else text


_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", type(None): "null"}


def _describe_core(core: Any) -> str:
    if core in _NAMES:
        return _NAMES[core]
    vals = allowed_values(core)
    if vals is not None:
        return "one of " + ", ".join(repr(v) for v in vals)
    if _is_model(core):
        return f"a mapping ({core.__name__})"
    origin = get_origin(core)
    if origin in (list, tuple, set, frozenset):
        args = [a for a in get_args(core) if a is not Ellipsis]
        return "a list" + (f" of {_plural(_describe_core(_strip(args[0])[0]))}" if args else "")
    if origin is dict:
        return "a mapping"
    if _is_union(core):
        return " or ".join(dict.fromkeys(_describe_core(_strip(m)[0]) for m in get_args(core)))
    return getattr(core, "__name__", str(core))


def _plural(text: str) -> str:
    for article in ("an ", "a "):
        if text.startswith(article):
            return text[len(article):] + "s" if not text.endswith(")") else text[len(article):]
    return text


def bounds(tp: Any, field: FieldInfo | None = None) -> str | None:
    """Numeric / length constraints as text, e.g. ``>= 1 and <= 64``; ``None`` when unconstrained."""
    meta: list = list(field.metadata) if field is not None else []
    if tp is not None:
        meta += _strip(tp)[1]
    parts: list[str] = []
    for m in meta:
        for attr, op in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            v = getattr(m, attr, None)
            if v is not None and isinstance(m, (at.Gt, at.Ge, at.Lt, at.Le, at.Interval)):
                parts.append(f"{op} {v}")
        if isinstance(m, at.MultipleOf):
            parts.append(f"a multiple of {m.multiple_of}")
        if isinstance(m, (at.MinLen, at.Len)) and getattr(m, "min_length", 0):
            parts.append(f"at least {m.min_length} items/characters")
        if isinstance(m, (at.MaxLen, at.Len)) and getattr(m, "max_length", None) is not None:
            parts.append(f"at most {m.max_length} items/characters")
    return " and ".join(dict.fromkeys(parts)) or None
