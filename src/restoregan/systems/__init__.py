"""LightningModules, one per training regime."""
