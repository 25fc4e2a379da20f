"""Generators. Each maps (B, 3, h, w) in its value_range to (B, 3, scale*h, scale*w)."""
