"""Discriminators. Each maps (B, 3, H, W) in the generator value_range to raw scores."""
