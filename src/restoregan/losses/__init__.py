"""Pixel, perceptual and adversarial losses."""
