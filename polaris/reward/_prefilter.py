"""Literal prefilters that let a regex be skipped when it cannot match (a pure speed-up).

A regex such as ``\\b(?:ignore|disregard)\\b...\\b(?:instructions?|rules)\\b`` can only match a
text that contains one of ``ignore``/``disregard`` *and* one of ``instruction``/``rules``. Those
keyword sets are read off the compiled pattern's parse tree (so they follow any edit of the
pattern), and checking them with ``str.__contains__`` on a case-folded copy of the text is far
cheaper than the regex scan. A pattern is only searched when its keywords are present, so the
result is always the same as searching it directly.

Case folding: ``re.IGNORECASE`` lets an ASCII letter match a few non-ASCII characters too
(``K`` KELVIN SIGN for ``k``, ``ſ`` for ``s``, ``ı``/``İ`` for ``i``). :func:`fold` maps every
character that ``re.I`` matches to an ASCII letter onto that letter (tested exhaustively over
all of Unicode), so a keyword present for the regex engine is present in the folded text.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["Prefilter", "fold"]

try:  # the stdlib's regex parser: ``re._parser`` from 3.11, ``sre_parse`` before
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse  # type: ignore[no-redef]

# str.lower() turns U+0130 into "i" + U+0307; the others are not changed by lower() at all.
_FOLD_EXTRA = str.maketrans({"\u0307": None, "\u0131": "i", "\u017f": "s"})


def fold(text: str) -> str:
    """``text`` lower-cased so that any ASCII keyword ``re.I`` finds in it is a substring of the result."""
    low = text.lower()
    return low if low.isascii() else low.translate(_FOLD_EXTRA)


def _seq_groups(items: Any) -> list[frozenset[str]]:
    """AND-list of OR-sets of literal strings that every match of the sequence ``items`` contains."""
    groups: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            s = "".join(run).lower()
            if s.isascii():  # non-ASCII case folding is not modelled: no requirement (always safe)
                groups.append(frozenset([s]))
            run.clear()

    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(av))
            continue
        flush()
        if name == "SUBPATTERN":
            groups.extend(_seq_groups(av[-1]))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, _hi, body = av
            if lo >= 1:
                groups.extend(_seq_groups(body))
        elif name == "BRANCH":
            alternatives = [_seq_groups(alt) for alt in av[1]]
            if all(alternatives):  # one alternative matched: one of its keywords is present
                groups.append(frozenset().union(*(_best(alt) for alt in alternatives)))
        # anything else (classes, anchors, lookarounds, backrefs) requires nothing we can name
    flush()
    return groups


def _best(groups: list[frozenset[str]]) -> frozenset[str]:
    """The most selective OR-set: the one whose shortest keyword is longest, then the smallest."""
    return max(groups, key=lambda g: (min(map(len, g)), -len(g)))


class Prefilter:
    """Keyword requirements of one compiled pattern; ``may_match(folded)`` is False only when it cannot match."""

    def __init__(self, pattern: re.Pattern[str], *, max_groups: int = 1, min_len: int = 2) -> None:
        try:
            groups = _seq_groups(_sre_parse.parse(pattern.pattern, pattern.flags))
        except Exception:  # an unexpected parse tree shape: no prefilter, the regex always runs
            groups = []
        useful = [g for g in groups if min(map(len, g)) >= min_len]
        useful.sort(key=lambda g: (min(map(len, g)), -len(g)), reverse=True)
        self.groups: tuple[tuple[str, ...], ...] = tuple(tuple(sorted(g)) for g in useful[:max_groups])

    def may_match(self, folded: str, seen: dict[str, bool] | None = None) -> bool:
        """False when ``pattern`` cannot match the text whose :func:`fold` is ``folded``.

        ``seen`` memoises keyword look-ups across the prefilters of one text (they share keywords).
        """
        for group in self.groups:
            for kw in group:
                hit = seen.get(kw) if seen is not None else None
                if hit is None:
                    hit = kw in folded
                    if seen is not None:
                        seen[kw] = hit
                if hit:
                    break
            else:
                return False
        return True
