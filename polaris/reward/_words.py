"""Word counting, target-length parsing, and length-instruction rendering and removal."""

from __future__ import annotations

import functools
import html
import re
from typing import Any, Callable

__all__ = [
    "WORD_RULES", "count_words", "parse_target_words", "target_words_value", "strip_length_instruction",
    "render_length_instruction", "MAX_TARGET_WORDS",
]

_W = re.compile(r"\w+")
_UNICODE_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"\b[a-zA-Z]+\b")


def _polaris_w(text: str) -> int:
    """POLARIS: runs of ``\\w`` after HTML-unescaping. Contractions count twice ("didn't" → 2), digits count."""
    return len(_W.findall(html.unescape(text)))


def _unicode_words(text: str) -> int:
    """Letter/digit runs joined by an apostrophe or hyphen ("didn't", "well-known" → 1). The demo data's rule."""
    return len(_UNICODE_WORD.findall(text))


def _whitespace(text: str) -> int:
    """Whitespace-separated tokens (``str.split``), as POLARIS's disqualification gate counts."""
    return len(text.split())


def _longwriter(text: str) -> int:
    """LongWriter: each CJK character plus each ASCII-letter word ``\\b[a-zA-Z]+\\b`` (digits ignored)."""
    return len(_CJK.findall(text)) + len(_LATIN.findall(text))


#: Word-counting rules by name; each function's docstring states the rule.
WORD_RULES: dict[str, Callable[[str], int]] = {
    "polaris_w": _polaris_w,
    "unicode_words": _unicode_words,
    "whitespace": _whitespace,
    "longwriter": _longwriter,
}


def count_words(text: str, rule: str = "polaris_w") -> int:
    """Count words in ``text`` by the named rule (see :data:`WORD_RULES`)."""
    try:
        fn = WORD_RULES[rule]
    except KeyError:
        raise ValueError(f"unknown word rule {rule!r}; known: {sorted(WORD_RULES)}") from None
    return fn(text)


# ---- numbers ------------------------------------------------------------------------------
_NUM = r"(?:\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+(?!\d)|\d+(?:\.\d+)?\s?[kK]\b|\d+)"
_SMALL = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_NUMBER_WORD = "|".join([*_SMALL, *_TENS, "hundred", "thousand"])
# At least one real number word: "a word" or "and words" must never read as a length.
_WORDNUM = rf"(?:(?:a[\s-]+)?(?:{_NUMBER_WORD})(?:[\s-]+(?:and[\s-]+)?(?:{_NUMBER_WORD}))*)"
_NUMSPEC = rf"(?:{_NUM}|{_WORDNUM})"
_RANGE = rf"(?:{_NUMSPEC}\s*(?:-|–|—|to|and)\s*)?{_NUMSPEC}"
_TARGET = re.compile(rf"(?<![\w.,])(?P<spec>{_RANGE})\s*(?:-\s*|\s+)?words?\b(?P<long>\s+(?:long|in\s+length))?", re.I)


def _num_value(s: str) -> int | None:
    s = s.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?\s?k", s):
        return round(float(s.rstrip("k").strip()) * 1000)
    if re.fullmatch(r"\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+", s):
        return int(re.sub(r"\D", "", s))
    if re.fullmatch(r"\d+", s):
        return int(s)
    total = current = 0
    seen = False
    for tok in re.split(r"[\s-]+", s):
        if tok in ("a", "and", ""):
            continue
        seen = True
        if tok in _SMALL:
            current += _SMALL[tok]
        elif tok in _TENS:
            current += _TENS[tok]
        elif tok == "hundred":
            current = max(current, 1) * 100
        elif tok == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            return None
    return total + current if seen else None


def _spec_value(spec: str) -> int | None:
    parts = re.split(r"\s*(?:–|—|\bto\b|\band\b(?=\s*\d)|(?<=\d)\s*-\s*(?=\d))\s*", spec.strip(), flags=re.I)
    values = [_num_value(p) for p in parts if p.strip()]
    if not values or any(v is None for v in values):
        return None
    return round(sum(values) / len(values))  # type: ignore[arg-type]


#: Largest accepted target: far above any story length, small enough to catch a unit mistake.
MAX_TARGET_WORDS = 1_000_000


def target_words_value(value: Any) -> int | None:
    """A structured ``target_words`` as an int (None when absent); raises ValueError saying why not.

    Numbers must be whole and in 1..MAX_TARGET_WORDS; strings are read as lengths ("3000",
    "12,000", "3k", "3k words").
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        parsed = int(text) if text.isdigit() else (parse_target_words(text) or parse_target_words(f"{text} words"))
        if parsed is None:
            raise ValueError(f"target_words {value!r} is not a number of words")
        value = parsed
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"target_words must be a number, got {value!r}")
    if value != value or not 1 <= value <= MAX_TARGET_WORDS or float(value) != int(value):
        raise ValueError(f"target_words must be a whole number between 1 and {MAX_TARGET_WORDS:,}, got {value!r}")
    return int(value)


def parse_target_words(text: str) -> int | None:
    """The target length stated in ``text``, or None.

    Handles thousands separators ("12,000 words" → 12000), ``k`` ("3k words", "1.5k-word"),
    hyphenated adjectives ("2500-word"), ranges (midpoint) and number words ("four thousand words").
    A mention followed by "long"/"in length" wins; otherwise the last mention is used (length
    sentences usually close a prompt). Prefer a structured target field over this fallback.
    """
    found: list[tuple[bool, int]] = []
    for m in _TARGET.finditer(text):
        v = _spec_value(m.group("spec"))
        if v is not None and v > 0:
            found.append((m.group("long") is not None, v))
    if not found:
        return None
    with_long = [v for is_long, v in found if is_long]
    return with_long[-1] if with_long else found[-1][1]


# ---- length instruction ---------------------------------------------------------------------
_PLACEHOLDER = re.compile(r"\{target_words(?::[^}]*)?\}")
_CUE = (r"(?:(?:of|in|with|at)\s+)?(?:(?:approximately|approx\.?|about|around|roughly|some|exactly|at\s+least|"
        r"at\s+most|no\s+more\s+than|no\s+fewer\s+than|no\s+less\s+than|up\s+to|close\s+to|nearly|under|over|"
        r"between)\s+)?")
_PHRASE = re.compile(rf"\b{_CUE}(?<![\w.,]){_RANGE}\s*(?:-\s*|\s+)?words?\b(?:\s+(?:long|in\s+length))?", re.I)
_ARTICLE = re.compile(rf"\b(?P<art>an?)\s+(?<![\w.,]){_NUMSPEC}\s*-\s*words?\s+(?P<next>\w)", re.I)
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+[\"')\]]*|\n|$)")
_FILLER = set(
    "your the this that story piece response text it its should must be is are needs need to has have aim for target "
    "try keep make please write long length word words count total limit of in a an at least most no more than fewer "
    "less between and up around approximately about roughly ideally exactly close somewhere near under over "
    "run come so or".split()
)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([,.;:!?])", r"\1", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def _fix_article(m: re.Match[str]) -> str:
    art = "an" if m.group("next").lower() in "aeiou" else "a"
    if m.group("art")[0].isupper():
        art = art.capitalize()
    return f"{art} {m.group('next')}"


def _strip_by_regex(prompt: str) -> str:
    out: list[str] = []
    for sent in _SENTENCE.findall(prompt):
        if not sent or not (_PHRASE.search(sent) or re.search(r"\bword\s+count\b", sent, re.I)):
            out.append(sent)
            continue
        rest = _PHRASE.sub(" ", _ARTICLE.sub(_fix_article, sent))
        content = [w for w in re.findall(r"[^\W\d_]+", rest.lower()) if w not in _FILLER]
        if content:  # the sentence also carries the premise: keep it without the length phrase
            out.append(rest)
        elif sent.endswith("\n"):
            out.append("\n")
    return "".join(out)


def _piece_pattern(piece: str) -> str:
    """Regex for a literal piece of a template: any run of whitespace matches any other."""
    body = r"\s+".join(map(re.escape, piece.split()))
    lead = r"\s*" if piece[:1].isspace() or not body else ""
    trail = r"\s*" if piece[-1:].isspace() and body else ""
    return lead + body + trail


def strip_length_instruction(prompt: str, templates: list[str] | None = None) -> str:
    """``prompt`` without its length instruction, so the judge never sees the target.

    With ``templates`` (the recipe's phrasings with ``{target_words}``), each template is matched
    with the placeholder accepting any number formatting and removed. The regex fallback then runs
    anyway: a sentence that only states the length is dropped; a length phrase inside a sentence
    with other content ("Write a 500-word story about ...") is cut out of it.
    """
    text = prompt
    for tpl in templates or []:
        text = _template_regex(tpl).sub(" ", text)
    return _tidy(_strip_by_regex(text))


@functools.lru_cache(maxsize=256)
def _template_regex(tpl: str) -> re.Pattern[str]:
    """The compiled pattern of one length template (templates repeat on every call)."""
    pieces = _PLACEHOLDER.split(tpl.strip())
    if len(pieces) < 2:
        raise ValueError(f"length template {tpl!r} has no {{target_words}} placeholder")
    return re.compile(_NUMSPEC.join(_piece_pattern(p) for p in pieces), re.I)


def render_length_instruction(template: str, target_words: int) -> str:
    """Fill a length template; ``{target_words}`` gives 2500, ``{target_words:,}`` gives 2,500."""
    if not _PLACEHOLDER.search(template):
        raise ValueError(f"length template {template!r} has no {{target_words}} placeholder")
    return _PLACEHOLDER.sub(lambda m: format(int(target_words), m.group(0)[len("{target_words"):-1].lstrip(":")), template)
