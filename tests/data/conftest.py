"""Tiny image trees for the data tests (written to tmp_path; nothing downloaded)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 noise; distinct seeds give distinct images."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture
def make_image() -> Callable[..., np.ndarray]:
    """``make_image(path, height, width, seed=0)`` writes a random RGB image, returns it."""

    def make(path: Path, height: int, width: int, seed: int = 0) -> np.ndarray:
        array = random_image(height, width, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(path)
        return array

    return make


#: Sequence names of the fake GoPro; train and test names differ, as in the real set.
GOPRO_SEQUENCES = {
    "train": ("GOPR0001_11_00", "GOPR0002_11_00", "GOPR0003_11_00"),
    "test": ("GOPR0101_11_00", "GOPR0102_11_00"),
}


@pytest.fixture
def gopro_root(tmp_path: Path, make_image) -> Path:
    """A fake GOPRO_Large: 3 train and 2 test sequences x 2 frames of 48x32 (WxH)."""
    root = tmp_path / "GOPRO_Large"
    seed = 0
    for split, sequences in GOPRO_SEQUENCES.items():
        for seq in sequences:
            for frame in ("000001.png", "000002.png"):
                for kind in ("blur", "blur_gamma", "sharp"):
                    seed += 1
                    make_image(root / split / seq / kind / frame, 32, 48, seed)
    return root
