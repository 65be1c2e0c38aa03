"""Rubric files: built-in lookup, loading, the judge's answer schema, and scoring.

Totals, caps and gates are always computed here from the judge's per-dimension integers; a
total reported by the judge is ignored. Nothing heavy is imported.

    spec = load_rubric("polaris-story-quality")
    schema = answer_schema(spec)            # give to the judge as the response format
    answer = parse_answer(spec, reply_text) # AnswerError → judge failure (retry / impute)
    result = score_answer(spec, answer, story_shown_to_judge)
    result.value                            # the story-quality reward SQ
"""

from polaris.schema.rubric import RubricSpec

from ._answer import IGNORED_TOTAL_KEYS, Answer, AnswerError, DimensionAnswer, answer_schema, parse_answer
from ._load import RubricError, builtin_rubrics, load_rubric, rubric_dir, rubric_hash
from ._score import RubricScore, normalise_for_quotes, quote_in_story, score_answer, value_range

__all__ = [
    "RubricSpec",
    "RubricError",
    "builtin_rubrics",
    "rubric_dir",
    "load_rubric",
    "rubric_hash",
    "Answer",
    "DimensionAnswer",
    "AnswerError",
    "IGNORED_TOTAL_KEYS",
    "answer_schema",
    "parse_answer",
    "RubricScore",
    "score_answer",
    "value_range",
    "normalise_for_quotes",
    "quote_in_story",
]
