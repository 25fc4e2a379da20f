"""Restore your own images with a trained checkpoint or an exported file.

python src/deblur.py ckpt_path=<run>/checkpoints/best.ckpt input=photos/ output=restored/
python src/deblur.py generator=resnet ckpt_path=latest_net_G.pth input=blurry.png output=out/
python src/deblur.py ckpt_path=deblurgan.onnx input=photos/ output=out/ recursive=true
python src/deblur.py ckpt_path=best.ckpt input=big.jpg output=big_restored.jpg tile=512 tta=x8
python src/deblur.py pipeline=dual deblur_ckpt=a.ckpt sr_ckpt=b.pth input=lr.png output=out/

Every readable image is restored (EXIF orientation applied, EXIF/ICC metadata and JPEG
quality kept); unreadable ones are listed at the end and the exit status is 1.
"""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from restoregan.cli.errors import is_user_error, run_main, user_errors, user_message
from restoregan.cli.photos import Job, PhotoError, plan, progress
from restoregan.cli.restorers import build_restorer, pick_device
from restoregan.data.io import read_photo, to_tensor, to_uint8, write_image
from restoregan.nets.contract import Generator
from restoregan.restore import check_settings, restore
from restoregan.runs import run_stamp  # noqa: F401  (registers ${run_stamp:} for hydra.run.dir)


class RestoreFailures(ValueError):
    """Some images of a folder could not be restored; the others were written."""


def restore_file(restorer: Generator, job: Job, cfg: DictConfig, device: torch.device) -> str:
    """Restore one image file into `job.target`; returns a line for the log."""
    array, info = read_photo(job.source)
    x = to_tensor(array).unsqueeze(0).to(device)
    y = restore(restorer, x, tile=cfg.tile, overlap=cfg.tile_overlap, tta=cfg.tta)
    y = y[0].float().cpu()
    write_image(job.target, to_uint8(y), info=info, quality=cfg.jpeg_quality)
    turned = f", EXIF orientation {info.orientation} applied" if info.orientation != 1 else ""
    return f"{job.source} {tuple(x.shape[-2:])} -> {job.target} {tuple(y.shape[-2:])}{turned}"


def _failure(err: Exception) -> str | None:
    """The message of an error that fails one image but not the folder, else None."""
    if isinstance(err, torch.OutOfMemoryError):
        return "out of memory; restore it in tiles, e.g. tile=512"
    return user_message(err) if is_user_error(err) else None


def run(cfg: DictConfig) -> list[Path]:
    """Restore every input image into `cfg.output`; returns the written paths.

    Raises `RestoreFailures` (after writing all the others) when some images could not
    be restored, listing each with the reason.
    """
    if cfg.jpeg_quality is not None and not 1 <= int(cfg.jpeg_quality) <= 100:
        raise PhotoError(f"jpeg_quality must be 1-100 or null, got {cfg.jpeg_quality}")
    check_settings(tile=cfg.tile, overlap=cfg.tile_overlap, tta=cfg.tta)
    jobs = plan(Path(cfg.input), Path(cfg.output), recursive=cfg.recursive, overwrite=cfg.overwrite)
    device = pick_device(cfg.device)
    restorer, source = build_restorer(cfg)
    restorer = restorer.to(device).eval()
    written: list[Path] = []
    failed: list[tuple[Path, str]] = []
    with progress(len(jobs), "restoring") as advance:
        for job in jobs:
            try:
                print(restore_file(restorer, job, cfg, device))
                written.append(job.target)
            except Exception as err:
                reason = _failure(err)
                if reason is None:
                    raise
                failed.append((job.source, reason))
            advance(1)
    print(f"restored {len(written)} of {len(jobs)} image(s) into {cfg.output} with {source}")
    if failed:
        listing = "\n".join(f"  {path}: {reason}" for path, reason in failed)
        raise RestoreFailures(
            f"{len(failed)} of {len(jobs)} image(s) could not be restored (the other "
            f"{len(written)} were written to {cfg.output}):\n{listing}\n"
            "Fix or remove these files and run again."
        )
    return written


@hydra.main(version_base="1.3", config_path="../conf", config_name="deblur")
@user_errors
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    run_main(main)
