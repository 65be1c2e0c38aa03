"""The judge request body as JSON bytes, with the rubric's large fixed parts encoded once.

Every judge call sends the same ~30 kB of rubric text, schema text and response-format schema,
and only the prompt and the story change. Encoding the whole body per call was the largest
single CPU cost of a call at hundreds of calls per second (``benchmarks/reward_throughput.py``).
JSON string escaping works character by character, so the encoding of a concatenation is the
concatenation of the encodings: a message content built from fixed and changing parts carries
its encoding built the same way (:class:`JsonText`), and the fixed response format is encoded
once per schema. The bytes are exactly what the SDK's own encoder makes of the same body (tested
against it): ``ensure_ascii=False``, no spaces, no NaN.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Iterable

__all__ = ["JsonText", "encode_str", "join_encoded", "encode_body"]

_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_quote = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) does to a str, quotes included


def encode_str(text: str) -> bytes:
    """``text`` as the inside of a JSON string (no surrounding quotes), UTF-8 encoded."""
    return _quote(text)[1:-1].encode()


def _scalar(v: Any) -> str:
    # json.dumps builds a new encoder per call for non-str values: these are the answers it gives
    t = type(v)
    if t is str:
        return _quote(v)
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return int.__repr__(v)
    if t is float and v == v and v not in (float("inf"), float("-inf")):
        return float.__repr__(v)
    return _dumps(v)  # NaN/inf raise ValueError as with the SDK; anything else as json.dumps does


class JsonText(str):
    """A ``str`` that also carries its own JSON encoding (``.json``: UTF-8 bytes, quotes included).

    It is a plain string to everything else (equality, slicing, ``json.dumps``), so a consumer that
    does not know about the cached encoding still gets the right text.
    """

    __slots__ = ("json",)
    json: bytes


def join_encoded(parts: Iterable[tuple[str, bytes | None]]) -> JsonText:
    """Concatenate ``(text, its encoding or None)`` parts into a :class:`JsonText`; parts without a
    cached encoding are encoded here."""
    texts: list[str] = []
    encoded: list[bytes] = [b'"']
    for text, enc in parts:
        texts.append(text)
        encoded.append(enc if enc is not None else encode_str(text))
    encoded.append(b'"')
    out = JsonText("".join(texts))
    out.json = b"".join(encoded)
    return out


def _emit(v: Any, fixed: dict[int, tuple[Any, bytes]], out: list[bytes]) -> None:
    # fragments are collected and joined once: the body is ~30 kB, and joining at every level
    # would copy it once per level
    hit = fixed.get(id(v))
    if hit is not None and hit[0] is v:
        out.append(hit[1])
    elif type(v) is JsonText:
        out.append(v.json)
    elif type(v) is dict:
        if not all(type(k) is str for k in v):
            raise TypeError("only str keys are encoded here")  # json.dumps would turn 1 into "1"
        sep = b"{"
        for k, x in v.items():
            out.append(sep + _quote(k).encode() + b":")
            _emit(x, fixed, out)
            sep = b","
        out.append(b"}" if sep == b"," else b"{}")
    elif type(v) is list:
        sep = b"["
        for x in v:
            out.append(sep)
            _emit(x, fixed, out)
            sep = b","
        out.append(b"]" if sep == b"," else b"[]")
    else:
        out.append(_scalar(v).encode())


def encode_body(body: dict[str, Any], fixed: dict[int, tuple[Any, bytes]] | None = None) -> bytes:
    """``body`` as UTF-8 JSON bytes. ``fixed`` maps ``id(obj)`` to ``(obj, its encoding)`` for
    objects that recur in every call (the response format); keys must be ``str``.

    Raises ``TypeError``/``ValueError`` as ``json.dumps`` does for values JSON cannot hold (and
    ``UnicodeEncodeError`` for a lone surrogate, as the SDK's encoder does).
    """
    out: list[bytes] = []
    _emit(body, fixed or {}, out)
    return b"".join(out)
