"""``--set key.path=value`` overrides, applied after the recipe file and its ``extends`` chain.

* The value is parsed as one YAML 1.2 scalar or flow collection: ``no``/``on`` stay strings,
  ``1e-6`` is a float, ``[1, 2]`` a list, ``{a: 1}`` a mapping, ``null``/``~`` None, ``'0.10'`` a
  string. An empty value is an error (write ``key=null`` or ``key=''``).
* List items: ``a.b[0].c`` or ``a.b.0.c``; index ``len(list)`` appends one item.
* Missing intermediate mappings are created (the schema then rejects keys it does not know, with
  the error pointing into the ``--set`` argument).
* A mapping value merges into an existing mapping like one more recipe file would (``_replace:
  true`` replaces it); anything else replaces the old value.
* Overrides apply in order; a later one wins.

Problems are located in the pseudo-file ``<--set>``: line = 1-based position of the override among
all overrides, col = 1-based column inside that argument.
"""

from __future__ import annotations

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import CollectionNode

from ._doc import Doc, NodePos
from ._merge import merge_value
from ._paths import PathSyntaxError, _IndexKey, format_path, parse_path
from ._problems import Problem
from ._provenance import Source
from ._yaml import to_plain

__all__ = ["SET_FILE", "apply_sets"]

SET_FILE = "<--set>"
_EXAMPLE = "write `--set grpo.samples_per_prompt=8` (KEY=VALUE, VALUE in YAML)"


def apply_sets(doc: Doc, sets: list[str] | tuple[str, ...]) -> list[Problem]:
    """Apply every override to ``doc`` in order; return the problems (bad ones are skipped)."""
    problems: list[Problem] = []
    for index, arg in enumerate(sets, start=1):
        parsed = _parse(arg, index, problems)
        if parsed is not None:
            _apply(doc, index, arg, *parsed, problems)
    return problems


def _problem(index: int, col: int, path: str, message: str, hint: str | None = None) -> Problem:
    return Problem(SET_FILE, index, col, path, message, hint)


def _parse(arg: str, index: int, problems: list[Problem]):
    eq = arg.find("=")
    if eq < 0:
        problems.append(_problem(index, 1, "", f"expected KEY=VALUE, got {arg!r} (no '=')", _EXAMPLE))
        return None
    key, text = arg[:eq], arg[eq + 1:]
    try:
        segments, cols = parse_path(key)
    except PathSyntaxError as exc:
        problems.append(_problem(index, exc.offset + 1, key.strip(), f"bad key in --set: {exc}", _EXAMPLE))
        return None
    vcol = eq + 2
    if not text.strip():
        problems.append(_problem(index, vcol, format_path(segments), "empty value in --set",
                                 "write KEY=null for null or KEY='' for an empty string"))
        return None
    try:
        loader = YAML(typ="safe", pure=True)
        loader.version = (1, 2)
        node = loader.compose(text)
        value = to_plain(YAML(typ="safe", pure=True).load(text) if node is not None else None)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        col = vcol + (mark.column if mark is not None and mark.line == 0 else 0)
        problems.append(_problem(index, col, format_path(segments),
                                 f"bad YAML value in --set: {' '.join(str(exc.problem).split())}",
                                 "quote strings with special characters: KEY='a: b'"))
        return None
    except (YAMLError, ValueError, TypeError) as exc:
        problems.append(_problem(index, vcol, format_path(segments), f"bad YAML value in --set: {exc}"))
        return None
    if isinstance(node, CollectionNode) and not node.flow_style:
        problems.append(_problem(index, vcol, format_path(segments),
                                 "a --set value must be one scalar or a flow collection",
                                 "write lists as [1, 2] and mappings as {a: 1}; quote 'a: b' to get a string"))
        return None
    bad_key = _non_string_key(value)
    if bad_key is not None:
        problems.append(_problem(index, vcol, format_path(segments),
                                 f"keys must be strings, found {bad_key!r}", "quote the key"))
        return None
    return segments, cols, value, vcol


def _non_string_key(value):
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return k
            found = _non_string_key(v)
            if found is not None:
                return found
    if isinstance(value, list):
        for v in value:
            found = _non_string_key(v)
            if found is not None:
                return found
    return None


def _apply(doc: Doc, index: int, arg: str, segments, cols, value, vcol, problems) -> None:
    node, path = doc.data, ()
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        where = format_path(path) or "the recipe"
        if isinstance(node, dict):
            if isinstance(seg, int) and not isinstance(seg, _IndexKey):
                problems.append(_problem(index, cols[i] + 1, format_path(path + (seg,)),
                                         f"`{where}` is a mapping, not a list", "use .KEY instead of [N]"))
                return
            key = str(seg)
        elif isinstance(node, list):
            if not isinstance(seg, int) and not isinstance(seg, _IndexKey):
                problems.append(_problem(index, cols[i] + 1, format_path(path + (seg,)),
                                         f"`{where}` is a list, not a mapping",
                                         f"use an index: {format_path(path + (0,))}"))
                return
            key = int(seg)
            limit = len(node) if last else len(node) - 1
            if key > limit:
                problems.append(_problem(index, cols[i] + 1, format_path(path + (key,)),
                                         f"index {key} is out of range: `{where}` has {len(node)} items",
                                         f"use an index from 0 to {len(node)} ({len(node)} appends)"))
                return
        else:
            problems.append(_problem(index, cols[i] + 1, format_path(path + (seg,)),
                                     f"cannot set a key inside `{where}`: it is {_kind(node)}, not a mapping",
                                     f"set `{where}` itself, e.g. {where}={{...}}"))
            return
        child_path = path + (key,)
        key_pos = (index, cols[i] + 1)
        if last:
            src = _value_doc(child_path, value, index, key_pos, vcol, arg)
            merge_value(doc, node, key, src, value, child_path, problems)
            return
        if isinstance(node, dict) and key not in node:
            # create the missing intermediate mapping (unknown keys are the schema's call)
            node[key] = {}
            doc.pos[child_path] = NodePos(SET_FILE, key_pos, (index, vcol))
            doc.hist.setdefault(child_path, []).append(Source("set", SET_FILE, index, vcol, arg))
        node, path = node[key], child_path


def _kind(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(type(value), "a value")


def _value_doc(path: tuple, value, index: int, key_pos: tuple[int, int], vcol: int, arg: str) -> Doc:
    """A one-override document: every node of ``value`` points at the override's value column."""
    doc = Doc(data={})
    source = Source("set", SET_FILE, index, vcol, arg)

    def walk(v, p: tuple, kpos) -> None:
        doc.pos[p] = NodePos(SET_FILE, kpos, (index, vcol))
        doc.hist[p] = [source]
        if isinstance(v, dict):
            for k, sub in v.items():
                walk(sub, p + (k,), (index, vcol))
        elif isinstance(v, list):
            for i, sub in enumerate(v):
                walk(sub, p + (i,), None)

    walk(value, path, key_pos)
    return doc
