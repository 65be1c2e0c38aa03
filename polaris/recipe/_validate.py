"""Map pydantic validation errors to located :class:`Problem`\\ s with hints.

Location rules: an unknown key points at the KEY; a wrong type or out-of-range value at the
VALUE; a missing required key at the key of the mapping that should hold it; an error raised
by a model validator (loc empty or naming a section) at that section's key (the root: the
recipe file's first line). A loc that cannot be followed falls back to the nearest ancestor that
exists in the input.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from . import _schema
from ._doc import Doc, render_value
from ._paths import format_path
from ._problems import Problem
from polaris.schema._base import _strings, contains_secret

__all__ = ["validation_problems", "recipe_version_problem", "VERSION_FIELD"]

VERSION_FIELD = "recipe_version"

_RANGE = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "multiple_of",
          "too_short", "too_long", "string_too_short", "string_too_long", "finite_number"}
_CHOICE = {"literal_error", "enum"}
# the message of these already says what is wrong with the value (or there is no value)
_NO_SNIPPET = {"value_error", "assertion_error", "missing", "union_tag_invalid", "union_tag_not_found"}


def validation_problems(exc: ValidationError, doc: Doc, model: type[BaseModel],
                        skip_roots: set[str] = frozenset()) -> list[Problem]:
    """One problem per pydantic error (errors under a top-level key in ``skip_roots`` are dropped)."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        if loc and loc[0] in skip_roots:
            continue
        out.append(_problem(err, loc, doc, model))
    return out


def _follow(data: Any, loc: tuple) -> tuple[tuple, list]:
    """The longest prefix of ``loc`` that exists in ``data`` (union labels skipped) + leftovers."""
    node, path, rest = data, (), []
    for seg in loc:
        if isinstance(node, dict) and isinstance(seg, str) and seg in node:
            node, path = node[seg], path + (seg,)
        elif isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
            node, path = node[seg], path + (seg,)
        else:
            rest.append(seg)
    return path, rest


def _node(data: Any, path: tuple) -> Any:
    for seg in path:
        data = data[seg]
    return data


def _problem(err: dict, loc: tuple, doc: Doc, model: type[BaseModel]) -> Problem:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    path, rest = _follow(doc.data, loc)
    pos = doc.pos.get(path) or doc.pos[()]
    node = _node(doc.data, path)
    info = _schema.resolve_loc(model, loc)

    if kind == "missing" and rest:
        key = rest[-1]
        where = pos.key_or_value()
        parent = format_path(path)
        hint = f"add `{key}:` under `{parent}`" if parent else f"add `{key}:` at the top level"
        if info.field is not None and info.field.description:
            hint += f" ({_first_sentence(info.field.description)})"
        return Problem(pos.file, *where, format_path(path + (key,)), f"required key `{key}` is missing", hint)

    if kind == "extra_forbidden":
        key = path[-1] if path else (rest[-1] if rest else "?")
        parent_loc = loc[:-1]
        hint = _extra_hint(model, parent_loc, str(key), format_path(path[:-1]))
        return Problem(pos.file, *pos.key_or_value(), format_path(path), f"unknown key `{key}`", hint)

    # a section (mapping) is pointed at by its key; a scalar or list by its value
    where = pos.key_or_value() if isinstance(node, dict) or not path else pos.value
    message = _message(err.get("msg", "invalid value"))
    value = err.get("input")
    if path and not isinstance(node, dict):
        shown = render_value(value, 40)
        if any(contains_secret(s) for s in _strings(value)):
            shown = "<redacted: looks like a secret>"  # never echo a key into a terminal or CI log
        if kind not in _NO_SNIPPET or (kind == "value_error" and shown not in message):
            message += f" (got {shown})"
    hint = _hint(kind, ctx, info, value)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_problem(kind, ctx, doc, path, pos, where)
    if kind == "value_error" and isinstance(node, dict):
        named = _set_field_named(message, path, doc)
        if named is not None:  # a cross-field rule broken by a --set: point at that --set
            npos = doc.pos[named]
            return Problem(npos.file, *npos.value, format_path(named), message, hint)
    return Problem(pos.file, *where, format_path(path), message, hint)


_FIELD_REF = re.compile(r"`([A-Za-z_][\w.]*)`|\b([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+)\b")


def _set_field_named(message: str, path: tuple, doc: Doc) -> tuple | None:
    """The node a section-level message names (dotted or `backticked`) that a --set wrote last, if any."""
    for m in _FIELD_REF.finditer(message):
        parts = tuple((m.group(1) or m.group(2)).split("."))
        for full in (parts, path + parts):
            history = doc.hist.get(full)
            if full in doc.pos and history and history[-1].kind == "set":
                return full
    return None


def _tag_problem(kind: str, ctx: dict, doc: Doc, path: tuple, pos, where) -> Problem:
    """A discriminated union with an unknown or missing tag: point at the tag itself."""
    disc = str(ctx.get("discriminator", "")).strip("'")
    tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
    hint = "allowed values: " + ", ".join(repr(t) for t in tags) if tags else None
    tag_path = path + (disc,)
    if kind == "union_tag_not_found" or tag_path not in doc.pos:
        return Problem(pos.file, *where, format_path(tag_path), f"required key `{disc}` is missing",
                       f"add `{disc}:` under `{format_path(path)}`" + (f"; {hint}" if hint else ""))
    tag = ctx.get("tag")
    close = difflib.get_close_matches(str(tag), tags, n=1)
    if close and hint:
        hint = f"did you mean {close[0]!r}? {hint}"
    tpos = doc.pos[tag_path]
    return Problem(tpos.file, *tpos.value, format_path(tag_path), f"unknown {disc} {render_value(tag, 40)}", hint)


def _message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    if msg.startswith("Input should be "):
        return "must be " + msg[len("Input should be "):]
    return msg[:1].lower() + msg[1:] if msg[:2] != msg[:2].upper() else msg


def _hint(kind: str, ctx: dict, info: _schema.LocInfo, value: Any) -> str | None:
    if kind in _CHOICE or kind in ("union_tag_invalid", "union_tag_not_found"):
        vals = _schema.allowed_values(info.annotation) if info.annotation is not None else None
        shown = ", ".join(repr(v) for v in vals) if vals else (ctx.get("expected") or ctx.get("expected_tags"))
        if not shown:
            return None
        hint = f"allowed values: {shown}"
        if vals and isinstance(value, str):
            close = difflib.get_close_matches(value, [v for v in vals if isinstance(v, str)], n=1)
            if close:
                hint = f"did you mean {close[0]!r}? {hint}"
        return hint
    if kind in _RANGE:
        rng = _schema.bounds(info.annotation, info.field) or _ctx_bounds(ctx)
        return f"allowed range: {rng}" if rng else None
    if kind.endswith("_type") or kind.endswith("_parsing") or kind in ("int_from_float", "model_attributes_type"):
        if info.annotation is not None:
            return f"expected {_schema.describe(info.annotation)}"
    return None


def _ctx_bounds(ctx: dict) -> str | None:
    ops = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "multiple_of": "a multiple of",
           "min_length": "length >=", "max_length": "length <="}
    parts = [f"{op} {ctx[k]}" for k, op in ops.items() if k in ctx]
    return " and ".join(parts) or None


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return (m.group(1) if m else text).rstrip(".")


def _extra_hint(model: type[BaseModel], parent_loc: tuple, key: str, parent: str) -> str | None:
    info = _schema.resolve_loc(model, parent_loc)
    holder = info.model if info.model is not None and info.field is None else None
    if holder is None and info.annotation is not None:
        core, _ = _schema._strip(info.annotation)
        holder = core if _schema._is_model(core) else None
    allowed = list(_schema.field_keys(holder)) if holder is not None else []
    here = re.sub(r"\[\d+\]", "[]", parent)
    where = f"a field of `{parent}`" if parent else "a top-level key"
    elsewhere = [p for p in _schema.field_paths(model, key) if p.rpartition(".")[0] != here]
    # nearest first: the longest shared prefix with where the key was written
    elsewhere.sort(key=lambda p: (-len(os.path.commonprefix([p, here + "."])), len(p)))
    if elsewhere:
        return f"`{key}` is not {where}; did you mean " + " or ".join(f"`{p}`" for p in elsewhere[:3]) + "?"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    paths = _schema.field_paths(model)
    leaf = {p: p.rpartition(".")[2] for p in paths}
    far = difflib.get_close_matches(key, list(dict.fromkeys(leaf.values())), n=1, cutoff=0.75)
    if far:
        match = next(p for p, name in leaf.items() if name == far[0])
        return f"`{key}` is not {where}; did you mean `{match}`?"
    if allowed:
        shown = ", ".join(allowed[:12]) + (", ..." if len(allowed) > 12 else "")
        return f"allowed keys{' in `' + parent + '`' if parent else ''}: {shown}"
    return None


def recipe_version_problem(model: type[BaseModel], doc: Doc) -> Problem | None:
    """Reject a ``recipe_version`` this polaris does not know (only if the model has that field).

    Known versions: ``model.RECIPE_VERSIONS`` if defined, else the field's ``Literal`` values,
    else its default.
    """
    fields = _schema.field_keys(model)
    if VERSION_FIELD not in fields or VERSION_FIELD not in doc.data:
        return None
    field = fields[VERSION_FIELD]
    known = getattr(model, "RECIPE_VERSIONS", None)
    if known is None:
        known = _schema.allowed_values(field.annotation)
    if known is None and not field.is_required():
        known = [field.get_default(call_default_factory=True)]
    if not known:
        return None
    value = doc.data[VERSION_FIELD]
    if value in known and type(value) in {type(k) for k in known}:
        return None
    pos = doc.pos[(VERSION_FIELD,)]
    newest = max(known, key=lambda v: (str(type(v)), v))
    shown = ", ".join(repr(k) for k in known)
    return Problem(pos.file, *pos.value, VERSION_FIELD, f"unknown recipe_version {render_value(value)}",
                   f"this polaris reads recipe_version {shown}; a newer recipe needs a newer polaris, "
                   f"an older one `polaris migrate` (current: {newest!r})")
