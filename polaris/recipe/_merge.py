"""Deep merge of recipe documents (used by ``extends`` and ``--set``).

Rules, applied when a later document (the child) is merged over an earlier one (the parent):

* mappings merge key by key, recursively;
* scalars and **lists are replaced wholesale** by the child's value (no element-wise merging:
  a child that sets ``stop: [a]`` gets exactly ``[a]``);
* ``null`` is a value (``None``), not a deletion;
* a child mapping containing ``_replace: true`` replaces the parent's mapping entirely instead of
  merging into it (keys the child does not repeat fall back to the schema defaults).
  ``_replace`` is consumed by the merge and never reaches the schema; ``_replace: false`` is the
  same as leaving it out.

Positions and write history (``Doc.pos`` / ``Doc.hist``) follow the values: after a merge every
node points at the file:line:col its final value came from.
"""

from __future__ import annotations

from ._doc import Doc
from ._paths import format_path
from ._problems import Problem

__all__ = ["REPLACE_KEY", "merge_into", "merge_value"]

REPLACE_KEY = "_replace"
_MISSING = object()


def merge_into(dst: Doc, src: Doc, problems: list[Problem]) -> None:
    """Merge the whole document ``src`` over ``dst`` (in place)."""
    dst.pos[()] = src.pos.get((), dst.pos.get(()))
    _merge_map(dst, dst.data, src, src.data, (), problems)


def merge_value(dst: Doc, parent, key, src: Doc, value, path: tuple, problems: list[Problem]) -> None:
    """Merge one node ``value`` (at ``path`` in ``src``) into ``parent[key]`` of ``dst``.

    ``parent`` is the dict or list in ``dst.data`` that holds ``key``; for a list ``key`` must be
    a valid index or ``len(list)`` (append).
    """
    old = _get(parent, key)
    dst.pos[path] = src.pos[path]
    dst.hist.setdefault(path, []).extend(src.hist.get(path, []))
    if isinstance(value, dict) and isinstance(old, dict):
        _merge_map(dst, old, src, value, path, problems)
        return
    dst.drop_below(path)
    new = _copy_clean(src, value, path, problems)
    if isinstance(parent, list) and key == len(parent):
        parent.append(new)
    else:
        parent[key] = new
    n = len(path)
    for p, v in src.pos.items():
        if len(p) > n and p[:n] == path and REPLACE_KEY not in p:
            dst.pos[p] = v
    for p, v in src.hist.items():
        if len(p) > n and p[:n] == path and REPLACE_KEY not in p:
            dst.hist[p] = list(v)


def _get(parent, key):
    if isinstance(parent, dict):
        return parent.get(key, _MISSING)
    return parent[key] if 0 <= key < len(parent) else _MISSING


def _merge_map(dst: Doc, dmap: dict, src: Doc, smap: dict, path: tuple, problems: list[Problem]) -> None:
    if _wants_replace(src, smap, path, problems):
        dmap.clear()
        dst.drop_below(path)
    for key, value in smap.items():
        if key == REPLACE_KEY:
            continue
        merge_value(dst, dmap, key, src, value, path + (key,), problems)


def _wants_replace(src: Doc, smap: dict, path: tuple, problems: list[Problem]) -> bool:
    flag = smap.get(REPLACE_KEY, False)
    if isinstance(flag, bool):
        return flag
    p = path + (REPLACE_KEY,)
    pos = src.pos.get(p) or src.pos[path]
    problems.append(Problem(pos.file, *pos.value, format_path(p),
                            f"`{REPLACE_KEY}` must be true or false, got {flag!r}",
                            f"`{REPLACE_KEY}: true` replaces the inherited mapping instead of merging into it"))
    return False


def _copy_clean(src: Doc, value, path: tuple, problems: list[Problem]):
    """Deep copy of ``value`` without ``_replace`` keys (checked, then dropped: nothing to replace)."""
    if isinstance(value, dict):
        _wants_replace(src, value, path, problems)
        return {k: _copy_clean(src, v, path + (k,), problems) for k, v in value.items() if k != REPLACE_KEY}
    if isinstance(value, list):
        return [_copy_clean(src, v, path + (i,), problems) for i, v in enumerate(value)]
    return value
