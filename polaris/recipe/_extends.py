"""``extends``: a recipe may build on other recipe files.

``extends: base.yaml`` or ``extends: [a.yaml, b.yaml]`` at the top level of a recipe. Paths are
relative to the file that contains them. Bases are resolved recursively and merged in order
(``a``'s whole chain, then ``b``'s), then the file itself is merged on top; see ``_merge`` for the
merge rules. A cycle (``a -> b -> a``) is an error located at the ``extends`` key that closes it; a
missing base is an error located at the ``extends`` value naming it. ``extends`` itself is consumed
here and never reaches the schema.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from ._doc import Doc, NodePos
from ._merge import merge_into
from ._problems import Problem
from ._yaml import read_yaml

__all__ = ["RecipeFile", "resolve_extends", "EXTENDS_KEY"]

EXTENDS_KEY = "extends"


@dataclass(frozen=True)
class RecipeFile:
    """A file the loader read: the path as shown to the user and the sha256 of its bytes."""

    path: str
    sha256: str


@dataclass
class _Resolution:
    doc: Doc | None
    files: list[RecipeFile]
    problems: list[Problem]
    complete: bool  # False when a file could not be read or parsed: validation would only add noise


def resolve_extends(path: str) -> _Resolution:
    """Read ``path`` and everything it extends; return the merged document."""
    res = _Resolution(None, [], [], True)
    res.doc = _resolve(str(path), [], res)
    if res.doc is None:
        res.complete = False
    return res


def _resolve(shown: str, chain: list[tuple[str, str]], res: _Resolution) -> Doc | None:
    real = os.path.realpath(shown)
    doc = _read(shown, res)
    if doc is None:
        return None
    chain = chain + [(shown, real)]
    before = len(res.problems)
    targets = _targets(doc, res.problems)
    if len(res.problems) > before:
        res.complete = False  # a base we could not name is missing: "required key" errors would be noise
    merged = Doc(data={}, pos={(): NodePos(shown, None, (1, 1))})
    for name, npos, kpos in targets:
        base = os.path.normpath(os.path.join(os.path.dirname(shown), os.path.expanduser(name)))
        base_real = os.path.realpath(base)
        if any(r == base_real for _, r in chain):
            start = next(i for i, (_, r) in enumerate(chain) if r == base_real)
            names = " -> ".join([s for s, _ in chain[start:]] + [base])
            res.problems.append(Problem(shown, *kpos, EXTENDS_KEY, f"extends cycle: {names}",
                                        "remove one of the `extends` entries that form the loop"))
            res.complete = False
            continue
        if not os.path.isfile(base):
            what = "is a directory" if os.path.isdir(base) else "not found"
            res.problems.append(Problem(
                shown, *npos.value, EXTENDS_KEY, f"extended file {name!r} {what} (looked for {base})",
                "paths in `extends` are relative to the file that contains them"))
            res.complete = False
            continue
        parent = _resolve(base, chain, res)
        if parent is None:
            res.complete = False
            continue
        merge_into(merged, parent, res.problems)
    merge_into(merged, doc, res.problems)
    return merged


def _read(shown: str, res: _Resolution) -> Doc | None:
    try:
        with open(shown, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        res.problems.append(Problem(shown, 1, 1, "", "recipe file not found"))
        return None
    except OSError as exc:
        res.problems.append(Problem(shown, 1, 1, "", f"cannot read recipe file: {exc.strerror or exc}"))
        return None
    if all(f.path != shown for f in res.files):
        res.files.append(RecipeFile(shown, hashlib.sha256(raw).hexdigest()))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        res.problems.append(Problem(shown, line, col, "", "recipe file is not valid UTF-8"))
        return None
    doc, problems = read_yaml(text, shown)
    res.problems.extend(problems)
    return doc


def _targets(doc: Doc, problems: list[Problem]) -> list[tuple[str, NodePos, tuple[int, int]]]:
    """Pop ``extends`` from ``doc``; return ``(name, value position, key position)`` per base."""
    if EXTENDS_KEY not in doc.data:
        return []
    value = doc.data.pop(EXTENDS_KEY)
    key_pos = doc.pos[(EXTENDS_KEY,)]
    items = [] if value is None else value if isinstance(value, list) else [value]  # null: no base
    out = []
    for i, item in enumerate(items):
        npos = doc.pos.get((EXTENDS_KEY, i), key_pos) if isinstance(value, list) else key_pos
        if not isinstance(item, str) or not item.strip():
            problems.append(Problem(npos.file, *npos.value, EXTENDS_KEY,
                                    f"`extends` entries must be file paths, got {item!r}",
                                    "write `extends: base.yaml` or `extends: [a.yaml, b.yaml]`"))
            continue
        out.append((item, npos, key_pos.key_or_value()))
    doc.drop_below((EXTENDS_KEY,))
    doc.pos.pop((EXTENDS_KEY,), None)
    doc.hist.pop((EXTENDS_KEY,), None)
    return out
