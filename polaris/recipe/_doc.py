"""A recipe document as plain data plus, for every node, where it was written.

``Doc.data`` is plain Python (dict / list / str / int / float / bool / None). ``Doc.pos`` maps
every node path to a :class:`NodePos` (position of its key and of its value); ``Doc.hist`` maps
every node path to the :class:`~polaris.recipe._provenance.Source` list of inputs that wrote it,
oldest first. Merging, ``extends`` and ``--set`` keep the three in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._provenance import Source

__all__ = ["NodePos", "Doc", "render_value"]


@dataclass(frozen=True)
class NodePos:
    """Where a node was written: its key (``None`` for list items and the root) and its value."""

    file: str
    key: tuple[int, int] | None
    value: tuple[int, int]

    def key_or_value(self) -> tuple[int, int]:
        return self.key or self.value


@dataclass
class Doc:
    """Plain data + positions + write history, all keyed by path tuples."""

    data: dict
    pos: dict[tuple, NodePos] = field(default_factory=dict)
    hist: dict[tuple, list[Source]] = field(default_factory=dict)

    def drop_below(self, path: tuple) -> None:
        """Forget positions and history strictly below ``path`` (its subtree was replaced)."""
        n = len(path)
        for table in (self.pos, self.hist):
            for p in [p for p in table if len(p) > n and p[:n] == path]:
                del table[p]

    def subtree(self, path: tuple) -> tuple[dict[tuple, NodePos], dict[tuple, list[Source]]]:
        """Positions and history at and below ``path``."""
        n = len(path)
        pos = {p: v for p, v in self.pos.items() if p[:n] == path}
        hist = {p: v for p, v in self.hist.items() if p[:n] == path}
        return pos, hist


def render_value(value: object, limit: int = 80) -> str:
    """A short one-line YAML-ish rendering of a value, for provenance and messages."""
    text = _flow(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _flow(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return repr(value)
