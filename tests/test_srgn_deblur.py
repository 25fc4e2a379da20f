"""SR-GN at inference: the clear part of a partially blurred photo comes out unchanged
where the predicted mask is 0, through restore() and through src/deblur.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from restoregan.nets.generators.srgn import SRGNGenerator
from restoregan.restore import restore
from tests.test_scripts import run_script

TARGET = "restoregan.nets.generators.srgn.SRGNGenerator"


def _srgn(mask_bias: float) -> SRGNGenerator:
    torch.manual_seed(3)
    gen = SRGNGenerator(ngf=4, n_blocks=1)
    with torch.no_grad():
        # Biases are not spectrally normalised: they set the mask logits outright.
        gen.mask_head.logits.bias.fill_(mask_bias)
    return gen.eval()


def test_restore_keeps_the_part_the_mask_branch_calls_clear() -> None:
    gen = _srgn(0.0)

    # Force the mask branch: very negative logits (clear) in the left 20 columns of the
    # padded image, very positive (blurred) elsewhere.
    def force(module, inputs, output):
        logits = torch.full_like(output, 1e4)
        logits[..., :20] = -1e4
        return logits

    gen.mask_refine.register_forward_hook(force)
    x = torch.rand(1, 3, 30, 42)  # not a multiple of 4: restore() pads and crops back
    out = restore(gen, x)
    assert out.shape == x.shape
    torch.testing.assert_close(out[..., :20], x[..., :20], rtol=0, atol=1e-6)
    assert (out[..., 20:] - x[..., 20:]).abs().mean() > 1e-3  # restored, not copied


def _checkpoint(gen: SRGNGenerator, path: Path) -> Path:
    state = {f"generator.{k}": v for k, v in gen.state_dict().items()}
    meta = {"generator": {"_target_": TARGET, "ngf": 4, "n_blocks": 1}}
    torch.save({"restoregan": meta, "state_dict": state}, path)
    return path


def test_deblur_script_leaves_a_clear_photo_unchanged(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (30, 42, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    for name, bias in (("clear", -1e4), ("blurred", 1e4)):
        ckpt = _checkpoint(_srgn(bias), tmp_path / f"{name}.ckpt")
        run_script(
            "deblur.py", f"ckpt_path={ckpt}", f"input={tmp_path / 'photo.png'}",
            f"output={tmp_path / name}", cwd=tmp_path,
        )  # fmt: skip
    clear = np.asarray(Image.open(tmp_path / "clear" / "photo.png").convert("RGB"))
    blurred = np.asarray(Image.open(tmp_path / "blurred" / "photo.png").convert("RGB"))
    np.testing.assert_array_equal(clear, photo)  # mask 0 everywhere: bit for bit
    assert np.abs(blurred.astype(int) - photo).mean() > 1  # mask 1: the network's output
