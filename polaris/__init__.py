"""Polaris: RL fine-tuning of LLMs for long-form story writing from one YAML recipe.

Importing this package is cheap: it pulls in nothing heavier than the standard library.
"""

__version__ = "0.1.0"

#: The OpenRLHF release every compiled job targets (see docs/launch.md).
OPENRLHF_VERSION = "0.11.2"
