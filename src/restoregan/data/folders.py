"""Folder scanning shared by the datasets: image listings, stem matching, per-name seeds."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

from restoregan.data.io import IMAGE_EXTENSIONS, DatasetError

__all__ = ["Pair", "list_images", "match_by_stem", "match_masks", "name_rng", "require_dir"]

#: ``(input_path, target_path, name)``; ``name`` is the item's id in tables and file names.
Pair = tuple[Path, Path, str]

_PATTERNS = ", ".join(f"*{e}" for e in IMAGE_EXTENSIONS)


def require_dir(path: str | os.PathLike, what: str, layout: str) -> Path:
    """Return ``path`` as a Path, or raise a DatasetError showing the expected ``layout``."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DatasetError(
            f"{what} '{path}' does not exist or is not a folder. Expected layout:\n{layout}"
        )
    return path


def list_images(directory: Path) -> dict[str, Path]:
    """Image files directly in ``directory``, keyed by file stem (hidden files skipped).

    Raises:
        DatasetError: two files share a stem (``a.png`` and ``a.jpg``), which would make
            stem matching ambiguous.
    """
    found: dict[str, Path] = {}
    for p in sorted(directory.iterdir()):
        if p.name.startswith(".") or p.suffix.lower() not in IMAGE_EXTENSIONS or not p.is_file():
            continue
        if p.stem in found:
            raise DatasetError(
                f"'{found[p.stem]}' and '{p}' share the stem '{p.stem}': pairs are matched by "
                f"stem, so keep one image per stem in '{directory}'."
            )
        found[p.stem] = p
    return found


def match_by_stem(
    input_dir: Path, target_dir: Path, *, input_suffix: str = "", name_prefix: str = ""
) -> list[Pair]:
    """Pair ``input_dir/<stem><input_suffix>.*`` with ``target_dir/<stem>.*`` (any image type).

    Every input must have a target and vice versa. Names are ``name_prefix + target file
    name``. ``input_suffix`` handles SR conventions such as ``0001x4.png`` <-> ``0001.png``.

    Raises:
        DatasetError: no images in ``input_dir``, or an image without its partner.
    """
    inputs, targets = list_images(input_dir), list_images(target_dir)
    if not inputs:
        raise DatasetError(
            f"No images found in '{input_dir}' (looked for {_PATTERNS}); expected inputs "
            f"named like <stem>{input_suffix}.png with partners <stem>.png in '{target_dir}'."
        )
    if input_suffix:
        bad = [p.name for s, p in inputs.items() if not s.endswith(input_suffix)]
        if bad:
            raise DatasetError(
                f"Inputs in '{input_dir}' must be named <stem>{input_suffix}.<ext>; found "
                f"{', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}."
            )
        inputs = {s[: -len(input_suffix)]: p for s, p in inputs.items()}
    for mine, other, other_dir, role in (
        (inputs, targets, target_dir, "target (sharp/HR)"),
        (targets, inputs, input_dir, "input (blurred/LR)"),
    ):
        lonely = [p for s, p in mine.items() if s not in other]
        if lonely:
            listed = ", ".join(f"'{p}'" for p in lonely[:5]) + (" ..." if len(lonely) > 5 else "")
            raise DatasetError(
                f"{len(lonely)} image(s) have no {role} partner in '{other_dir}' (matched by "
                f"file stem, any of {_PATTERNS}): {listed}. Add the partners or remove these files."
            )
    return [(inputs[s], targets[s], name_prefix + targets[s].name) for s in sorted(targets)]


def match_masks(pairs: list[Pair], mask_dir: Path, *, suffix: str = "") -> list[Path]:
    """The blur mask of every pair: ``mask_dir/<target stem><suffix>.*`` (any image type).

    Masks without a pair are ignored (one folder may hold the masks of several splits, as
    ReLoBlur's mask download does); a pair without its mask is an error.

    Raises:
        DatasetError: ``mask_dir`` is not a folder, or some pairs have no mask.
    """
    if not mask_dir.is_dir():
        raise DatasetError(
            f"Mask folder '{mask_dir}' does not exist or is not a folder; expected "
            f"<stem>{suffix}.png masks named like the sharp images."
        )
    masks = list_images(mask_dir)
    found, missing = [], []
    for _, target, _ in pairs:
        path = masks.get(target.stem + suffix)
        found.append(path)
        if path is None:
            missing.append(f"'{target.stem}{suffix}.*' (for '{target}')")
    if missing:
        listed = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DatasetError(
            f"{len(missing)} pair(s) have no mask in '{mask_dir}' ({_PATTERNS}): {listed}. "
            f"Masks are matched by the sharp image's stem{' plus ' + repr(suffix) if suffix else ''}; "
            f"add them or check data.mask_suffix."
        )
    return found


def name_rng(seed: int, name: str) -> np.random.Generator:
    """A Generator fixed by (seed, name): per-image randomness that survives reordering."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])
