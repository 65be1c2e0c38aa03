"""YAML 1.2 round-trip loading that keeps a position for every key, value and list item.

ruamel.yaml's round-trip loader records line/col on each ``CommentedMap`` / ``CommentedSeq``
(``.lc``). We convert the loaded tree into plain Python plus a position table (see ``_doc``), and
turn syntax errors, duplicate keys, non-string keys and tags into located :class:`Problem`\\ s.
YAML 1.2 means ``no``/``on``/``y`` stay strings (the YAML 1.1 boolean trap).
"""

from __future__ import annotations

import datetime
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ._doc import Doc, NodePos, render_value
from ._paths import format_path
from ._problems import Problem
from ._provenance import Source

__all__ = ["read_yaml", "find_position", "to_plain"]


def _loader() -> YAML:
    y = YAML(typ="rt")
    y.version = (1, 2)
    return y


def read_yaml(text: str, file: str) -> tuple[Doc | None, list[Problem]]:
    """Parse one recipe document. Returns ``(doc, problems)``; ``doc`` is ``None`` on failure.

    An empty document is an empty mapping; a document whose top level is not a mapping is a
    problem at 1:1.
    """
    try:
        root = _loader().load(text)
    except DuplicateKeyError as exc:
        return None, _duplicate_problems(text, file) or [_marked_problem(exc, file)]
    except MarkedYAMLError as exc:
        return None, [_marked_problem(exc, file)]
    except YAMLError as exc:  # reader errors (control characters, bad encoding) and the like
        return None, [Problem(file, *_mark_of(exc), "", f"YAML error: {_one_line(str(exc))}")]
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # ruamel's constructors raise plain exceptions for a few malformed tagged values
        return None, [Problem(file, 1, 1, "", f"could not read YAML: {_one_line(str(exc))}")]
    if root is None:
        root = CommentedMap()
    if not isinstance(root, CommentedMap):
        kind = "a list" if isinstance(root, CommentedSeq) else f"the value {render_value(to_plain(root))}"
        return None, [Problem(file, 1, 1, "", f"a recipe must be a mapping of keys, found {kind}",
                              "start the file with top-level keys such as `model:`")]
    doc = Doc(data={}, pos={(): NodePos(file, None, (1, 1))})
    problems: list[Problem] = []
    doc.data = _convert_map(root, (), file, doc, problems)
    return doc, problems


def to_plain(value: Any) -> Any:
    """Strip ruamel's round-trip wrappers: ScalarFloat -> float, CommentedMap -> dict, ..."""
    if isinstance(value, dict):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, TaggedScalar):
        return str(value.value)
    # ScalarBoolean subclasses int, so test it before int
    if type(value).__name__ == "ScalarBoolean":
        return bool(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()  # a recipe has no date fields; keep the text the user wrote
    return str(value)


def _lc(node: Any, key: Any, item: bool = False) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """(key position, value position), 1-based; ``None`` where ruamel kept nothing (merge keys)."""
    data = getattr(getattr(node, "lc", None), "data", None) or {}
    entry = data.get(key)
    if not entry:
        return None, None
    if item:
        return None, (entry[0] + 1, entry[1] + 1)
    return (entry[0] + 1, entry[1] + 1), (entry[2] + 1, entry[3] + 1)


def _convert(value: Any, path: tuple, file: str, doc: Doc, problems: list[Problem]) -> Any:
    tag = getattr(getattr(value, "tag", None), "value", None)
    if tag and not str(tag).startswith("tag:yaml.org"):
        # local tags (!foo) would be silently dropped by the conversion: say so instead
        problems.append(Problem(file, *doc.pos[path].value, format_path(path),
                                f"YAML tag {tag} is not supported", "remove the tag; recipes are plain YAML"))
    if isinstance(value, CommentedMap):
        return _convert_map(value, path, file, doc, problems)
    if isinstance(value, CommentedSeq):
        out = []
        for i, item in enumerate(value):
            _, vpos = _lc(value, i, item=True)
            parent = doc.pos[path]
            doc.pos[path + (i,)] = NodePos(file, None, vpos or parent.value)
            out.append(_convert(item, path + (i,), file, doc, problems))
            _record(doc, path + (i,), out[-1], file)
        return out
    return to_plain(value)


def _convert_map(node: CommentedMap, path: tuple, file: str, doc: Doc, problems: list[Problem]) -> dict:
    out: dict = {}
    parent = doc.pos[path]
    for key, value in node.items():
        kpos, vpos = _lc(node, key)
        kpos = kpos or parent.key_or_value()
        if not isinstance(key, str):
            problems.append(Problem(file, *kpos, format_path(path),
                                    f"keys must be strings, found {render_value(to_plain(key))}",
                                    "quote the key" if _scalar_key(key) else None))
            continue
        p = path + (key,)
        doc.pos[p] = NodePos(file, kpos, vpos or kpos)
        out[key] = _convert(value, p, file, doc, problems)
        _record(doc, p, out[key], file)
    return out


def _scalar_key(key: Any) -> bool:
    return key is None or isinstance(key, (bool, int, float))


def _record(doc: Doc, path: tuple, value: Any, file: str) -> None:
    line, col = doc.pos[path].value
    doc.hist[path] = [Source("file", file, line, col, render_value(value))]


def find_position(root: Any, path: tuple, *, key: bool = True) -> tuple[int, int] | None:
    """1-based (line, col) of the node at ``path`` in a round-trip loaded document.

    ``key=True`` gives the position of the mapping key (list items have no key: their value is
    used); ``key=False`` the position of the value. ``None`` when the path is not in the document.
    """
    node, found = root, None
    for seg in path:
        if isinstance(node, CommentedMap) and seg in node:
            kpos, vpos = _lc(node, seg)
            found = (kpos if key else vpos) or vpos or kpos
        elif isinstance(node, CommentedSeq) and isinstance(seg, int) and 0 <= seg < len(node):
            _, found = _lc(node, seg, item=True)
        else:
            return None
        node = node[seg]
    return found if path else (1, 1)


def _marked_problem(exc: MarkedYAMLError, file: str) -> Problem:
    line, col = _mark_of(exc)
    problem = _one_line(exc.problem or "invalid YAML")
    if isinstance(exc, DuplicateKeyError):
        return Problem(file, line, col, "", "duplicate key", "each key may appear once per mapping")
    hint = None
    if exc.context:
        where = ""
        if exc.context_mark is not None:
            where = f" (line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        hint = f"{_one_line(exc.context)}{where}"
    return Problem(file, line, col, "", f"YAML syntax error: {problem}", hint)


def _mark_of(exc: Exception) -> tuple[int, int]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        mark = getattr(exc, "mark", None)
    if mark is None:
        return 1, 1
    return getattr(mark, "line", 0) + 1, getattr(mark, "column", 0) + 1


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _duplicate_problems(text: str, file: str) -> list[Problem]:
    """Find every duplicate key by walking the composed node tree (the loader stops at the first)."""
    try:
        root = _loader().compose(text)
    except YAMLError:
        return []
    problems: list[Problem] = []
    seen_nodes: set[int] = set()

    def walk(node: Node | None, path: tuple) -> None:
        if node is None or id(node) in seen_nodes:  # aliases point at shared nodes
            return
        seen_nodes.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[tuple, Node] = {}
            for knode, vnode in node.value:
                if isinstance(knode, ScalarNode):
                    ident = (str(getattr(knode.tag, "value", knode.tag)), knode.value)
                    if ident in first and knode.value != "<<":
                        orig = first[ident].start_mark
                        m = knode.start_mark
                        problems.append(Problem(
                            file, m.line + 1, m.column + 1, format_path(path + (knode.value,)),
                            f"duplicate key `{knode.value}` (first defined at line {orig.line + 1})",
                            "each key may appear once per mapping; delete one of them"))
                    first.setdefault(ident, knode)
                    walk(vnode, path + (knode.value,))
                else:
                    walk(vnode, path)
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, path + (i,))

    walk(root, ())
    return problems
