"""Restore images of any size with a trained checkpoint; output files keep their names.

python src/deblur.py ckpt_path=<run>/checkpoints/best.ckpt input=photos/ output=restored/
python src/deblur.py generator=resnet ckpt_path=latest_net_G.pth input=blurry.png output=out/
python src/deblur.py pipeline=dual deblur_ckpt=a.ckpt sr_ckpt=b.pth input=lr.png output=out/
"""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from restoregan.cli.errors import user_errors
from restoregan.cli.restorers import build_restorer, pick_device
from restoregan.data.io import IMAGE_EXTENSIONS, read_image, to_tensor, to_uint8, write_image
from restoregan.restore import restore


def list_inputs(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if files:
            return files
        raise ValueError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found in folder {source}")
    raise ValueError(f"input={source} does not exist; expected an image file or a folder of images")


def run(cfg: DictConfig) -> list[Path]:
    """Restore every input image into `cfg.output`; returns the written paths."""
    device = pick_device(cfg.device)
    restorer, source = build_restorer(cfg)
    restorer = restorer.to(device).eval()
    out_dir = Path(cfg.output)
    written = []
    for path in list_inputs(Path(cfg.input)):
        x = to_tensor(read_image(path)).unsqueeze(0).to(device)
        y = restore(restorer, x)[0].float().cpu()
        target = out_dir / path.name
        write_image(target, to_uint8(y))
        written.append(target)
        print(f"{path} {tuple(x.shape[-2:])} -> {target} {tuple(y.shape[-2:])}")
    print(f"restored {len(written)} image(s) with {source}")
    return written


@hydra.main(version_base="1.3", config_path="../conf", config_name="deblur")
@user_errors
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
