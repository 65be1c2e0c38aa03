"""The recipe language (pydantic v2), split by domain.

Importing it pulls in nothing heavier than pydantic, so validating a recipe never loads
torch, ray, vllm or openrlhf.
"""

from ._base import EnvVarName, Section, looks_like_secret
from .cluster import GPU_TYPES, ClusterConfig, VLLMConfig
from .data import DataConfig, DataFilters, DataSource, FieldMap, HubSource, LengthInstruction, ReferenceSource
from .grpo import EvalCadence, GRPOConfig, KLConfig, SamplingConfig
from .hri import ReferenceInjection, ReferenceWeight
from .judge import JudgeBackend, JudgeConfig
from .model import ModelConfig
from .output import LoggingConfig, OutputConfig, WandbConfig
from .recipe import RECIPE_VERSION, Recipe
from .reward import RewardConfig
from .rubric_ref import RubricRef

__all__ = [
    "RECIPE_VERSION",
    "Recipe",
    "Section",
    "EnvVarName",
    "looks_like_secret",
    "ModelConfig",
    "DataConfig",
    "DataSource",
    "HubSource",
    "ReferenceSource",
    "FieldMap",
    "LengthInstruction",
    "DataFilters",
    "RubricRef",
    "JudgeConfig",
    "JudgeBackend",
    "RewardConfig",
    "ReferenceInjection",
    "ReferenceWeight",
    "GRPOConfig",
    "SamplingConfig",
    "KLConfig",
    "EvalCadence",
    "ClusterConfig",
    "VLLMConfig",
    "GPU_TYPES",
    "LoggingConfig",
    "WandbConfig",
    "OutputConfig",
]
