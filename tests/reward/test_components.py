import pytest

from polaris.reward import (
    blank,
    length_band,
    length_band_penalty,
    longwriter_length_score,
    overlong_penalty,
    repetition,
    think_cap_penalty,
)
from polaris.schema.reward import BlankConfig, LengthBandConfig, RepetitionConfig

BAND = LengthBandConfig()


def test_repetition_hand_computed():
    # 8 words "a b c d a b c d" → 5 four-grams, 4 distinct: r4 = 1/5; the repeat (i=4, j=0) is local.
    rep = repetition("a b c d a b c d", RepetitionConfig())
    assert rep.r4 == pytest.approx(0.2) and rep.local4 == pytest.approx(0.2) and rep.dup_lines == 0
    assert rep.penalty == pytest.approx(0.8 * (0.7 * (0.2 - 0.08) + 0.3 * 0.2))


def test_repetition_local_window_and_dup_lines():
    params = RepetitionConfig(local_window=3)
    rep = repetition("a b c d x y z a b c d", params)  # repeat at distance 7 > 3: not local
    assert rep.local4 == 0 and rep.r4 == pytest.approx(1 / 8)
    rep = repetition("Hello there.\nHello there.\nBye now.\n\n", RepetitionConfig())
    assert rep.dup_lines == pytest.approx(1 / 3)


def test_repetition_capped_and_empty():
    text = "\n".join(["the same line again"] * 50)
    rep = repetition(text, RepetitionConfig())
    # 200 words → 197 four-grams, 4 distinct; every repeat is 4 grams after its previous one.
    assert rep.r4 == pytest.approx(193 / 197) and rep.local4 == pytest.approx(193 / 197)
    assert rep.dup_lines == pytest.approx(49 / 50)
    expected = 0.8 * (0.7 * (193 / 197 - 0.08) + 0.3 * 193 / 197) + 0.4 * 49 / 50
    assert rep.penalty == pytest.approx(expected)
    assert repetition(text, RepetitionConfig(cap=1.0)).penalty == 1.0
    rep = repetition("", RepetitionConfig())
    assert rep.penalty == 0 and rep.r4 == 0


def test_blank():
    p = BlankConfig()
    assert blank("", 0, p) == 1.0
    assert blank("word " * 200, 200, p) == 0.0
    assert blank("word " * 149, 149, p) == 1.0
    assert blank("x" + "\u200b" * 20 + " " * 20, 200, p) == 1.0  # invisible characters


def test_length_band_edges():
    assert length_band(1000, BAND) == (650, 1600)  # tol_lo clamped up to 350, tol_hi up to 600
    assert length_band(4000, BAND) == (3400, 5000)  # 0.15·4000 = 600, 0.25·4000 = 1000
    assert length_band(12000, BAND) == (11000, 13500)  # clamped down to 1000 / 1500
    assert length_band_penalty(650, 1000, BAND) == 0 and length_band_penalty(1600, 1000, BAND) == 0
    assert length_band_penalty(325, 1000, BAND) == pytest.approx(0.5)
    assert length_band_penalty(2400, 1000, BAND) == pytest.approx(0.5)
    assert length_band_penalty(0, 1000, BAND) == 1.0
    assert length_band_penalty(10**6, 1000, BAND) == 1.0
    with pytest.raises(ValueError):
        length_band_penalty(10, 0, BAND)


def test_longwriter_sl_edges():
    assert longwriter_length_score(1000, 1000) == 100
    assert longwriter_length_score(4000, 1000) == 0
    assert longwriter_length_score(2500, 1000) == pytest.approx(50)
    assert longwriter_length_score(500, 1000) == pytest.approx(50)
    assert longwriter_length_score(333, 999) == 0
    assert longwriter_length_score(0, 1000) == 0


def test_overlong_buffer():
    assert overlong_penalty(8192, True, 8192, 512) == 0
    assert overlong_penalty(7680, False, 8192, 512) == 0
    assert overlong_penalty(7936, False, 8192, 512) == pytest.approx(0.5)
    assert overlong_penalty(8192, False, 8192, 512) == 1.0
    assert overlong_penalty(9000, False, 8192, 512) == 1.0
    with pytest.raises(ValueError):
        overlong_penalty(1, False, 10, 0)


def test_think_cap():
    assert think_cap_penalty(3072, 3072, 0.05) == 0
    assert think_cap_penalty(3082, 3072, 0.05) == pytest.approx(0.5)
    assert think_cap_penalty(10, 3072, 0.05) == 0
