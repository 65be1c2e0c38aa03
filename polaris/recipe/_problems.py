"""Located problems: what the loader reports instead of tracebacks.

Every user mistake in a recipe (YAML syntax, ``extends``, ``--set``, schema validation)
becomes one :class:`Problem` pointing at ``file:line:col``. The loader collects all of
them and raises one :class:`RecipeError`, so a user fixes everything in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "RecipeError"]


@dataclass(frozen=True)
class Problem:
    """One located problem in a recipe.

    ``file`` is the path as the user gave it (or ``<--set>`` / ``<default>``); ``line`` and
    ``col`` are 1-based (for ``<--set>``: the position of the override among all ``--set``
    arguments, and the column inside that argument); ``path`` is the dotted key path
    (list items as ``data.filters[0]``), empty when the problem is not about a key.
    """

    file: str
    line: int
    col: int
    path: str
    message: str
    hint: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form with exactly the keys ``file, line, col, path, message, hint``."""
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
        }

    def format(self) -> str:
        """``file:line:col: key.path: message`` plus an indented ``hint:`` line when there is one."""
        head = f"{self.file}:{self.line}:{self.col}: "
        if self.path:
            head += f"{self.path}: "
        text = head + self.message
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.col, self.path, self.message)


class RecipeError(Exception):
    """A recipe could not be loaded. ``problems`` holds every problem found, sorted by location."""

    def __init__(self, problems: list[Problem]) -> None:
        unique = {p: None for p in problems}  # drop exact duplicates, keep order
        self.problems: list[Problem] = sorted(unique, key=Problem.sort_key)
        super().__init__(self.format())

    def format(self) -> str:
        """All problems, one block each, in location order."""
        return "\n".join(p.format() for p in self.problems)

    def to_list(self) -> list[dict[str, object]]:
        """The problems as JSON-ready dictionaries (see :meth:`Problem.to_dict`)."""
        return [p.to_dict() for p in self.problems]
