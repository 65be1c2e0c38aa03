"""Training-engine integrations. Only OpenRLHF 0.11.2 today (`polaris.engine.openrlhf`).

Importing this package is cheap: it imports nothing from the engine itself.
"""
