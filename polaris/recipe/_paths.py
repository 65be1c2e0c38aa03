"""Key paths: ``grpo.sampling.temperature``, ``data.filters[0].kind`` or ``data.filters.0.kind``.

Internally a path is a tuple of ``str`` (mapping keys) and ``int`` (list indices).
"""

from __future__ import annotations

import re

__all__ = ["Path", "format_path", "parse_path", "PathSyntaxError"]

Path = tuple  # tuple[str | int, ...]

_SEGMENT = re.compile(r"([^.\[\]=]*)((?:\[[^\]]*\])*)")
_INDEX = re.compile(r"\[([^\]]*)\]")


class PathSyntaxError(ValueError):
    """A malformed key path; ``offset`` is the 0-based column of the offending character."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def format_path(path: tuple) -> str:
    """``("data", "filters", 0, "kind")`` -> ``data.filters[0].kind``."""
    out = ""
    for seg in path:
        if isinstance(seg, int) and not isinstance(seg, bool):
            out += f"[{seg}]"
        else:
            out += ("." if out else "") + str(seg)
    return out


def parse_path(text: str) -> tuple[tuple, list[int]]:
    """Parse a dotted path; return the segments and the 0-based column where each one starts.

    A bare all-digit segment (``a.0.b``) becomes an ``int`` and is treated as a list index when
    the node is a list and as a string key otherwise; ``[0]`` is always a list index.
    Raises :class:`PathSyntaxError` on an empty key or segment, or a bad ``[...]``.
    """
    if not text.strip():
        raise PathSyntaxError("empty key", 0)
    segments: list = []
    cols: list[int] = []
    pos = 0
    for part in text.split("."):
        m = _SEGMENT.fullmatch(part)
        if m is None:
            bad = next((i for i, ch in enumerate(part) if ch in "[]="), 0)
            raise PathSyntaxError(f"unexpected {part[bad]!r} in key path", pos + bad)
        name, indices = m.group(1), m.group(2)
        if not name:
            if not segments or not indices:
                raise PathSyntaxError("empty key segment in key path", pos)
        else:
            if name != name.strip():
                raise PathSyntaxError("spaces around a key segment", pos)
            segments.append(_IndexKey(name) if name.isdigit() else name)
            cols.append(pos)
        ipos = pos + len(name)
        for im in _INDEX.finditer(indices):
            raw = im.group(1).strip()
            if not raw.isdigit():
                raise PathSyntaxError(f"list index must be a non-negative integer, got [{im.group(1)}]",
                                      ipos + im.start())
            segments.append(int(raw))
            cols.append(ipos + im.start())
        pos += len(part) + 1
    return tuple(segments), cols


class _IndexKey(str):
    """A bare digit segment (``a.0.b``): an index into a list, a string key into a mapping."""

    @property
    def index(self) -> int:
        return int(self)
