"""Shared base for every recipe section.

Every section forbids unknown keys (a typo must fail, never be ignored) and validates
assignments, so a value set after loading is checked like one read from YAML.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Iterator

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

__all__ = ["Section", "EnvVarName", "looks_like_secret", "contains_secret", "contains_key_token"]


class Section(BaseModel):
    """Base class of every recipe section: strict, documented, no extras, no inline secrets."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        validate_default=True,
        populate_by_name=False,
        protected_namespaces=(),
        strict=True,
    )

    @model_validator(mode="after")
    def validate_no_inline_secret(self) -> "Section":
        # Secrets are named by environment variable only; one pasted anywhere else would reach
        # the resolved recipe, the bundle and the run directory.
        for name in type(self).model_fields:
            value = self.__dict__.get(name)
            if isinstance(value, BaseModel):
                continue  # checked by its own validator
            if any(contains_key_token(s) for s in _strings(value)):
                raise ValueError(
                    f"`{name}` holds what looks like an API key or token; recipes name secrets only by "
                    "environment variable (e.g. judge.backend.api_key_env: OPENAI_API_KEY)"
                )
        return self


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Prefixes and shapes of real API keys: a recipe must name a variable, never hold a key.
_SECRET_SHAPES = (
    re.compile(r"^(sk|pk|rk)-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"^(sk-ant|sk-proj|xai|gsk|hf|ghp|gho|ghs|glpat|AIza|ya29\.)[A-Za-z0-9_\-\.]{8,}"),
    re.compile(r"^[A-Fa-f0-9]{32,}$"),
    re.compile(r"^[A-Za-z0-9+/_\-]{32,}={0,2}$"),
)


def looks_like_secret(value: str) -> bool:
    """True when ``value`` has the shape of an API key or token rather than a variable name."""
    if any(p.match(value) for p in _SECRET_SHAPES):
        # An all-caps identifier such as OPENAI_API_KEY is a name even when long.
        return not (_ENV_NAME.match(value) and value.upper() == value)
    return False


# Provider key prefixes only: hex or base64 strings (commit shas, hashes) are legitimate recipe values.
_KEY_TOKEN = re.compile(r"^(?:(?:sk|pk|rk)-|sk-ant-|sk-proj-|xai-|gsk_|hf_|ghp_|gho_|ghs_|glpat-|AIza|ya29\.)[A-Za-z0-9_\-\.]{8,}")
_SPLIT = re.compile(r"[\s=:&?/,;'\"()\[\]{}]+")


def contains_secret(text: str) -> bool:
    """True when any word of ``text`` (split at spaces, '=', '&', '/', ...) looks like an API key."""
    return looks_like_secret(text) or any(_KEY_TOKEN.match(tok) for tok in _SPLIT.split(text) if tok)


def contains_key_token(text: str) -> bool:
    """True when a word of ``text`` starts like a provider API key (sk-..., AIza..., hf_..., ...)."""
    return any(_KEY_TOKEN.match(tok) for tok in _SPLIT.split(text) if tok)


def _check_env_name(value: str) -> str:
    # Never echo the value: a user who pastes "OPENAI_API_KEY=sk-..." must not see it in a CI log.
    if contains_secret(value):
        raise ValueError(
            "this looks like a secret value, not the NAME of an environment variable; "
            "put the key in an environment variable and write its name here (e.g. OPENAI_API_KEY)"
        )
    if not _ENV_NAME.match(value):
        raise ValueError("not a valid environment variable name (use letters, digits and _, e.g. OPENAI_API_KEY)")
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


#: The name of an environment variable holding a secret. Never the secret itself.
EnvVarName = Annotated[str, AfterValidator(_check_env_name)]
