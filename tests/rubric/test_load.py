import pytest

from polaris.rubric import RubricError, builtin_rubrics, load_rubric, rubric_hash, value_range


def test_builtins_load_and_validate():
    names = builtin_rubrics()
    assert {"polaris-story-quality", "story-craft-9"} <= set(names)
    for name, path in names.items():
        assert path.read_text(encoding="utf-8").startswith("#"), f"{name} must open with a comment"
        spec = load_rubric(name)
        assert spec.name == name


def test_polaris_rubric_shape():
    spec = load_rubric("polaris-story-quality")
    pol = [d.polarity for d in spec.dimensions]
    assert pol.count("positive") == 6 and pol.count("negative") == 10
    assert pol.count("bonus") == 1 and pol.count("penalty") == 1
    assert spec.raw_range() == (-159, 108)
    assert value_range(spec) == pytest.approx((-1.59, 1.08))


def test_craft9_shape():
    spec = load_rubric("story-craft-9")
    assert [d.id for d in spec.dimensions] == [f"C{i}" for i in range(1, 10)]
    assert [d.id for d in spec.dimensions if d.allow_na] == ["C9"]
    assert value_range(spec) == (0.0, 1.0)


def test_load_by_path_and_hash(tmp_path):
    src = builtin_rubrics()["story-craft-9"]
    copy = tmp_path / "mine.yaml"
    copy.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    a, b = load_rubric("story-craft-9"), load_rubric(copy)
    assert rubric_hash(a) == rubric_hash(b) == rubric_hash(load_rubric(str(copy)))
    copy.write_text(src.read_text(encoding="utf-8").replace("weight: 1.5", "weight: 2"), encoding="utf-8")
    assert rubric_hash(load_rubric(copy)) != rubric_hash(a)


def test_errors_are_located(tmp_path):
    with pytest.raises(RubricError, match="no built-in rubric named 'nope'"):
        load_rubric("nope")
    with pytest.raises(RubricError, match="file not found"):
        load_rubric(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n  oops: [\n", encoding="utf-8")
    with pytest.raises(RubricError) as e:
        load_rubric(bad)
    assert e.value.line is not None and "invalid YAML" in str(e.value)
    text = builtin_rubrics()["story-craft-9"].read_text(encoding="utf-8")
    bad.write_text(text.replace("{low: 3, high: 4, text: \"Sags", "{low: 4, high: 4, text: \"Sags"), encoding="utf-8")
    with pytest.raises(RubricError) as e:
        load_rubric(bad)
    err = e.value
    assert err.path == "dimensions[1]" and "bands must cover" in err.message
    assert err.line is not None and text.splitlines()[err.line - 1].strip().startswith("- id: C2")
    bad.write_text(text.replace("dimensions: [C1, C3]", "dimensions: [C1, C99]"), encoding="utf-8")
    with pytest.raises(RubricError, match="unknown dimensions"):
        load_rubric(bad)
    bad.write_text(text.replace("  - id: C2", "  - id: C1", 1), encoding="utf-8")
    with pytest.raises(RubricError, match="more than once"):
        load_rubric(bad)
    bad.write_text(text.replace("judge:", "judgee:"), encoding="utf-8")
    with pytest.raises(RubricError) as e:
        load_rubric(bad)
    assert e.value.path in ("judge", "judgee")
