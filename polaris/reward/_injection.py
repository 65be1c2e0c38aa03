"""Deterministic detector for text in a story that is addressed to the judge.

Strong signals flag on their own (instruction overrides, fake turn/tag markers, score JSON,
requests for a score, talk about rubric dimensions). Weak signals, which a real story can
contain once ("a perfect score" in a school story, a computer called an AI), flag only when two
different ones co-occur. Tuned so the demo fiction passes unflagged (tested).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ._prefilter import Prefilter, fold

__all__ = ["InjectionReport", "injection_guard"]

_I = re.I
_IM = re.I | re.M
_EVALUATOR = r"(?:evaluators?|graders?|raters?|scorers?|assessors?|(?:ai|llm|model)\s+(?:judge|reviewer|evaluator|grader)s?|judging\s+model|reward\s+model)"

_STRONG: list[tuple[str, re.Pattern[str]]] = [
    ("instruction_override", re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?\b(?:previous|prior|above|earlier|preceding|original|system|scoring|judging|grading)\b"
        r"[^.\n]{0,30}?\b(?:instructions?|prompts?|rules|guidelines|directives|rubric|criteria|scoring)\b", _I)),
    ("new_instructions", re.compile(r"\b(?:new|updated|revised|real|actual)\s+(?:system\s+)?instructions?\s*:", _I)),
    ("addresses_evaluator", re.compile(
        rf"\b(?:dear|attention|hello|hey|note\s+(?:to|for)(?:\s+the)?|message\s+(?:to|for)(?:\s+the)?|to\s+the|as\s+the|as\s+an?|for\s+the|you\s+are\s+(?:the|an?))\s+{_EVALUATOR}\b", _I)),
    ("addresses_judge", re.compile(r"\b(?:dear|note\s+(?:to|for)\s+the|message\s+(?:to|for)\s+the|attention,?)\s+(?:judges?|reviewers?)\s*[:,]", _I)),
    ("evaluator_colon", re.compile(rf"^\s*[\[(*_]*{_EVALUATOR}[\])*_]*\s*:", _IM)),
    ("chat_token", re.compile(r"<\|[^|<>\n]{1,64}\|>|</?(?:start_of_turn|end_of_turn|bos|eos)>|</?s>|\[/?(?:INST|SYS)\]|<</?SYS>>", _I)),
    ("fake_tag", re.compile(
        r"</?\s*(?:story|think|thinking|response|answer|submission|essay|text|system|user|assistant|instructions?|judge|evaluation|rubric|prompt|output|input)"
        r"(?:_[0-9a-f]{2,})?\s*>", _I)),
    ("fake_bracket_tag", re.compile(
        r"\[\s*/?\s*(?:story|end\s+of\s+story|end\s+story|response|submission|system|user|assistant|instructions?|rubric|evaluation)\s*\]", _I)),
    ("markdown_role_heading", re.compile(r"^\s*#{2,}\s*(?:instructions?|system|response|input|evaluation|assistant|user|rubric|scoring)\b", _IM)),
    ("role_line", re.compile(
        r"^\s*(?:system|assistant|user|human)\s*:\s*[^\n]{0,200}?\b(?:scor|rat(?:e|ing)|grad(?:e|ing)|evaluat|instruct|rubric|judg|ignore|criteri|dimension)", _IM)),
    ("score_json", re.compile(
        r"[\"'](?:\w*score\w*|\w*total\w*|overall\w*|rating|grade|verdict|label|[PNC]\d{1,2}|bonus|penalty)[\"']\s*:\s*[-\d{\"]", _I)),
    ("score_request", re.compile(
        r"\b(?:score|rate|grade|mark|rank|judge)\s+(?:this|the|my|our)\s+(?:story|piece|response|submission|entry|text|work)\b"
        r"[^.\n]{0,40}?(?:\b\d{1,3}\b|\b(?:ten|perfect|maximum|highest|full|top|excellent|exceptional|highly)\b)", _I)),
    ("score_demand", re.compile(
        r"\b(?:give|award|assign|grant)\s+(?:this|it|the|my)\s*(?:story|piece|response|submission|entry)?\s+(?:a\s+|an\s+|the\s+)?"
        r"(?:perfect|maximum|max|full|highest|top|10|ten)\b[^.\n]{0,20}?\b(?:scores?|marks?|points?|ratings?|grades?)?", _I)),
    ("score_every_dimension", re.compile(
        r"\b(?:score|rate|mark)\w*\s+(?:every|each|all)\s+(?:of\s+the\s+)?(?:dimensions?|criteri(?:a|on)|categor(?:y|ies))\b", _I)),
    ("rubric_dimension_talk", re.compile(
        r"\b(?:positive|negative)\s+dimensions?\b|\b(?:this|the)\s+(?:story|response|submission|piece)\s+(?:fully\s+)?"
        r"(?:satisfies|meets|fulfils|fulfills|maximi[sz]es|excels\s+(?:on|in|at))\s+(?:all|every|each)\s+(?:the\s+)?(?:criteri|dimension|rubric)", _I)),
    ("score_fraction", re.compile(r"\b(?:score|rating|grade)\s*(?:of|:|=)?\s*(?:100|10|108|15|20)\s*/\s*(?:100|10|108|15|20)\b", _I)),
]

_WEAK: list[tuple[str, re.Pattern[str]]] = [
    ("mentions_evaluator", re.compile(rf"\b{_EVALUATOR}\b", _I)),
    ("mentions_rubric", re.compile(r"\brubrics?\b", _I)),
    ("perfect_score", re.compile(r"\b(?:perfect|maximum|max|full|highest|top)\s+(?:scores?|marks|points|ratings?)\b", _I)),
    ("out_of_ten", re.compile(r"\b\d{1,3}\s*(?:/|out\s+of)\s*(?:10|100)\b", _I)),
    ("as_an_ai", re.compile(r"\bas\s+an?\s+(?:ai|artificial\s+intelligence|(?:large\s+)?language\s+model)\b", _I)),
    ("json_object", re.compile(r"\{\s*\"[A-Za-z_][\w ]{0,40}\"\s*:")),
    ("role_word_line", re.compile(r"^\s*(?:system|assistant|user)\s*:", _IM)),
]


@dataclass(frozen=True)
class InjectionReport:
    """Whether the story looks like it addresses the judge, and which signals fired."""

    flagged: bool
    reasons: list[str] = field(default_factory=list)


# (name, pattern, keyword prefilter): a pattern whose keywords are absent cannot match, so it is
# not searched (the regex scans are most of this function's cost; the result is the same).
_STRONG_PF = [(name, pat, Prefilter(pat)) for name, pat in _STRONG]
_WEAK_PF = [(name, pat, Prefilter(pat)) for name, pat in _WEAK]


def injection_guard(story: str) -> InjectionReport:
    """Flag ``story`` when it contains a strong judge-directed signal or two different weak ones."""
    folded, seen = fold(story), {}
    strong = [name for name, pat, pf in _STRONG_PF if pf.may_match(folded, seen) and pat.search(story)]
    weak = [name for name, pat, pf in _WEAK_PF if pf.may_match(folded, seen) and pat.search(story)]
    # Reasons list every signal that fired, also when the story is not flagged (useful for tuning).
    return InjectionReport(flagged=bool(strong) or len(weak) >= 2, reasons=strong + [f"weak:{w}" for w in weak])
