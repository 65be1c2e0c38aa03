"""Per-key provenance: which input set which value.

Precedence, lowest first (later sources override earlier ones):

1. the schema's defaults (pydantic field defaults),
2. the ``extends`` chain, base-most file first (for ``extends: [a, b]``: ``a``'s chain, then ``b``'s),
3. the recipe file itself,
4. each ``--set`` in the order given.

Every node of the resolved recipe (sections, lists, list items and scalar leaves) gets the list of
sources that wrote it, the winning source last. A value no input wrote has a single ``default``
source. When a mapping is replaced (``_replace: true``, or a scalar/list replacing it), the history
of the keys below it starts again: the replaced keys no longer come from the earlier file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from ._paths import PathSyntaxError, format_path, parse_path

__all__ = ["Source", "Provenance", "build_provenance"]


@dataclass(frozen=True)
class Source:
    """One input that wrote a value.

    ``kind`` is ``"default"`` (the schema's default; ``file`` is ``<default>``, no line/col),
    ``"file"`` (a YAML file; ``line``/``col`` of the value) or ``"set"`` (a ``--set``; ``file`` is
    ``<--set>``, ``line`` its position among the overrides, ``col`` where the value starts).
    ``text`` is a short rendering of the value as written (the whole argument for ``--set``).
    """

    kind: Literal["default", "file", "set"]
    file: str
    line: int | None
    col: int | None
    text: str

    def format(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.col}"
        return f"{self.kind:<7} {where}  {self.text}"


class Provenance(Mapping):
    """Read-only mapping ``dotted path -> list[Source]`` (winning source last)."""

    def __init__(self, table: dict[str, list[Source]]) -> None:
        self._table = table

    def __getitem__(self, key: str) -> list[Source]:
        return list(self._table[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def explain(self, key_path: str) -> list[Source]:
        """Sources of ``key_path`` in override order, the winning one last.

        Accepts ``a.b[0].c`` and ``a.b.0.c``. Raises ``KeyError`` with a did-you-mean for an
        unknown path.
        """
        try:
            segments, _ = parse_path(key_path)
        except PathSyntaxError as exc:
            raise KeyError(f"{key_path!r}: {exc}") from None
        candidates = {format_path(segments)}
        # a bare digit segment may be a list index: try that spelling too
        candidates.add(format_path(tuple(int(s) if _is_digit_key(s) else s for s in segments)))
        for c in candidates:
            if c in self._table:
                return list(self._table[c])
        close = difflib.get_close_matches(key_path, list(self._table), n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        raise KeyError(f"`{key_path}` is not a key of the resolved recipe{hint}")


def _is_digit_key(seg: object) -> bool:
    return isinstance(seg, str) and seg.isdigit()


def build_provenance(instance: BaseModel, hist: dict[tuple, list[Source]]) -> Provenance:
    """Walk the validated model and attach the write history (plus defaults) to every node."""
    from ._doc import render_value  # local: _doc imports this module

    table: dict[str, list[Source]] = {}

    def default_source(value: object) -> Source:
        return Source("default", "<default>", None, None, render_value(value))

    def walk(value: object, path: tuple, default: object, has_default: bool) -> None:
        written = hist.get(path, [])
        sources = list(written)
        if has_default:
            sources.insert(0, default_source(default))
        if not sources:
            sources = [default_source(_dump(value))]
        table[format_path(path)] = sources
        if isinstance(value, BaseModel):
            for name, info in type(value).model_fields.items():
                key = info.alias or name
                child = getattr(value, name)
                if info.is_required():
                    walk(child, path + (key,), _NO_DEFAULT, False)
                else:
                    d = info.get_default(call_default_factory=True)
                    walk(child, path + (key,), _dump(d), True)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + (str(k),), _NO_DEFAULT, False)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(v, path + (i,), _NO_DEFAULT, False)

    for name, info in type(instance).model_fields.items():
        key = info.alias or name
        child = getattr(instance, name)
        if info.is_required():
            walk(child, (key,), _NO_DEFAULT, False)
        else:
            walk(child, (key,), _dump(info.get_default(call_default_factory=True)), True)
    return Provenance(table)


_NO_DEFAULT = object()


def _dump(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value
