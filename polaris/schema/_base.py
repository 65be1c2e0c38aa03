"""Shared base for every recipe section.

Every section forbids unknown keys (a typo must fail, never be ignored) and validates
assignments, so a value set after loading is checked like one read from YAML.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["Section", "EnvVarName", "looks_like_secret"]


class Section(BaseModel):
    """Base class of every recipe section: strict, documented, no extras."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        validate_default=True,
        populate_by_name=False,
        protected_namespaces=(),
        strict=True,
    )


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


def _check_env_name(value: str) -> str:
    if looks_like_secret(value):
        raise ValueError(
            "this looks like a secret value, not the NAME of an environment variable; "
            "put the key in an environment variable and write its name here (e.g. OPENAI_API_KEY)"
        )
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid environment variable name (letters, digits, _)")
    return value


#: The name of an environment variable holding a secret. Never the secret itself.
EnvVarName = Annotated[str, AfterValidator(_check_env_name)]
