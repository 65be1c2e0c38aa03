"""Compile a recipe into a job bundle for stock OpenRLHF 0.11.2 (pure: no network, no GPU)."""

from ._bundle import BundleDirNotEmpty, JobBundle, SecretLeak, write_bundle
from ._compile import compile_recipe
from ._configs import REWARD_KEYS
from ._layout import guess_params_b, plan_input

__all__ = ["BundleDirNotEmpty", "JobBundle", "SecretLeak", "compile_recipe", "write_bundle", "plan_input", "guess_params_b", "REWARD_KEYS"]
