"""Property test: whatever a user writes, the loader returns a model or a located RecipeError."""

from __future__ import annotations

import io
import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st
from recipe_models import VALID, Recipe
from ruamel.yaml import YAML

from polaris.recipe import LoadedRecipe, RecipeError, load_recipe

_yaml = YAML(typ="safe", pure=True)
BASE_DATA = _yaml.load(VALID)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["no", "on", "1e-6", "0.10", "grpo", "openai", "local", "~", ""]),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)
keys = st.one_of(st.sampled_from(["name", "grpo", "loss", "temperature", "stop", "judge", "provider",
                                  "_replace", "extends", "recipe_version", "kind", "value", "gpus"]),
                 st.text(min_size=1, max_size=10))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _get(node, path):
    for seg in path:
        node = node[seg]
    return node


@st.composite
def mutated_documents(draw):
    import copy

    data = copy.deepcopy(BASE_DATA)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(data))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["delete", "insert", "replace"]))
        if not path:
            op = "insert"
        parent = _get(data, path[:-1]) if path else None
        if op == "delete":
            del parent[path[-1]]
        elif op == "replace":
            parent[path[-1]] = draw(values)
        else:
            target = _get(data, path)
            if isinstance(target, dict):
                target[draw(keys)] = draw(values)
            elif isinstance(target, list):
                target.append(draw(values))
    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, buf)
    text = buf.getvalue()
    lines = text.splitlines()
    for _ in range(draw(st.integers(0, 2))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["duplicate", "indent", "dedent", "garble"]))
        if edit == "duplicate":
            lines.insert(i, lines[i])
        elif edit == "indent":
            lines[i] = " " * draw(st.integers(1, 3)) + lines[i]
        elif edit == "dedent":
            lines[i] = lines[i].lstrip()
        else:
            pos = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + draw(st.sampled_from([":", "[", "{", "- ", "&a", "*a", "!x", "'", "#", "\t"])) + lines[i][pos:]
    return "\n".join(lines) + "\n"


set_args = st.lists(st.one_of(
    st.text(max_size=15),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["grpo.loss", "tags[0]", "tags.5", "judge", "a..b",
                                                         "grpo.sampling.stop[0]", "data.filters.0.value"]),
              st.text(max_size=8)),
), max_size=3)


def _check(result_or_error) -> None:
    if isinstance(result_or_error, LoadedRecipe):
        assert isinstance(result_or_error.recipe, Recipe)
        return
    assert result_or_error.problems, "RecipeError without problems"
    for p in result_or_error.problems:
        assert isinstance(p.file, str) and p.file
        assert isinstance(p.line, int) and p.line >= 1
        assert isinstance(p.col, int) and p.col >= 1
        assert isinstance(p.path, str)
        assert isinstance(p.message, str) and p.message
        assert p.format()


@settings(max_examples=100, deadline=None)
@given(text=mutated_documents(), sets=set_args)
def test_loader_never_crashes(text, sets):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            outcome = load_recipe(path, sets, model=Recipe)
        except RecipeError as exc:
            outcome = exc
        _check(outcome)


@settings(max_examples=60, deadline=None)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes(raw):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.yaml")
        with open(path, "wb") as f:
            f.write(raw)
        try:
            outcome = load_recipe(path, model=Recipe)
        except RecipeError as exc:
            outcome = exc
        _check(outcome)
