"""Broken data found before the first training step: every pair of every split checked.

A random crop reads each file only when the sampler happens to pick it, so a truncated
frame or a pair of mismatched sizes would otherwise surface hours into a run, or never
in a short one. :func:`check_pairs` looks at every file of a list of pairs:

- both images readable as images (the header; with ``full``, a complete decode, which is
  where a truncated PNG/JPEG fails);
- sizes consistent: equal for deblurring; ``target = scale x input`` for
  super-resolution pairs (the target may exceed it by less than ``scale`` pixels, as
  :class:`~restoregan.data.pairs.PairedImageDataset` crops it to fit); equal source and
  target for pairs degraded on the fly;
- large enough for the (target-side) crop;
- masks single-channel and of the target's size.

What a file was found to be is cached per folder (keyed by path, size and mtime, in a
small JSON file written atomically: :mod:`restoregan.data.filecheck`), so a second run
only ``stat``-s its files. Only good files are cached: a problem is looked at again on
the next run.

Datasets describe what to check with ``check_items()`` (a :class:`CheckItems`);
:func:`check_datasets` runs the check on the splits a datamodule builds and raises one
:class:`DataCheckError` listing the first problems and a count of the rest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from restoregan.data.filecheck import FileCache, FileInfo, default_cache_dir, inspect_files
from restoregan.data.io import DatasetError

__all__ = [
    "CHECK_MODES",
    "CheckItems",
    "DataCheckError",
    "PairFiles",
    "Problem",
    "check_datasets",
    "check_pairs",
    "format_problems",
]

CheckMode = Literal["full", "headers", "off"]
CHECK_MODES: tuple[str, ...] = ("full", "headers", "off")
#: Problems listed in the error; the rest are counted.
SHOWN = 20


class DataCheckError(DatasetError):
    """Problems found in a dataset before training: the message lists them."""


class PairFiles(NamedTuple):
    """One pair to check: the input and target files, and the target's mask if any."""

    input: Path
    target: Path
    mask: Path | None = None


@dataclass(frozen=True)
class CheckItems:
    """What a dataset's items need of their files (a dataset's ``check_items()``).

    Attributes:
        pairs: the pairs.
        crop: target-side crop its items take (``None``: full frames).
        scale: target size / input size of stored pairs; for ``degraded`` the factor the
            input is made with.
        degraded: the input is made from the input file (``downsample(blur(input))``), so
            the two files have the same size (they may be one file).
        resize: ``(height, width)`` frames are resized to before cropping, if any.
    """

    pairs: Sequence[PairFiles]
    crop: int | None = None
    scale: int = 1
    degraded: bool = False
    resize: tuple[int, int] | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: ``message`` names it and says what was expected."""

    path: Path
    message: str
    split: str = ""

    def __str__(self) -> str:
        return f"[{self.split}] {self.message}" if self.split else self.message


def _single_channel(mode: str) -> bool:
    """The modes `read_mask` accepts."""
    return mode in ("1", "L", "I") or mode.startswith("I;16")


def _wxh(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]} (WxH)"


def _pair_problems(
    pair: PairFiles, files: Mapping[Path, FileInfo], spec: CheckItems
) -> list[Problem]:
    problems = []
    for path, role in ((pair.input, "image"), (pair.target, "image"), (pair.mask, "mask")):
        if path is None:
            continue
        info = files[path]
        if info.error:
            problems.append(
                Problem(
                    path,
                    f"'{path}': expected a readable {role} (PNG/JPEG/...), found {info.error}. "
                    "Re-export or re-download it, or remove the pair.",
                )
            )
        elif role == "image" and info.mode == "F":
            problems.append(
                Problem(path, f"'{path}' is a 32-bit float image; expected 8/16-bit RGB or grey.")
            )
    if problems:
        return problems
    s = spec.scale
    (w, h), (tw, th) = files[pair.input].size, files[pair.target].size
    if spec.degraded or s == 1:
        if (w, h) != (tw, th):
            problems.append(
                Problem(
                    pair.input,
                    f"'{pair.input}' is {_wxh((w, h))} but its target '{pair.target}' is "
                    f"{_wxh((tw, th))}; expected the same size. Check that the two belong together.",
                )
            )
            return problems
        th, tw = (th // s * s, tw // s * s) if spec.degraded else (th, tw)
        if min(th, tw) < s:
            problems.append(
                Problem(pair.target, f"'{pair.target}' is {_wxh((tw, th))}, smaller than x{s}.")
            )
    elif (th // s, tw // s) != (h, w):
        problems.append(
            Problem(
                pair.input,
                f"'{pair.input}' is {_wxh((w, h))} but its target '{pair.target}' is "
                f"{_wxh((tw, th))}; expected target = {s} x input (HR {w * s}x{h * s}).",
            )
        )
        return problems
    else:
        th, tw = h * s, w * s  # the target is cropped to fit
    if pair.mask is not None:
        mask = files[pair.mask]
        if not _single_channel(mask.mode):
            problems.append(
                Problem(
                    pair.mask,
                    f"Mask '{pair.mask}' is a {mask.mode} image; expected a single-channel "
                    "(grayscale) mask, white where the input is blurred.",
                )
            )
        if mask.size != (tw, th):
            problems.append(
                Problem(
                    pair.mask,
                    f"Mask '{pair.mask}' is {_wxh(mask.size)} but its pair's target "
                    f"'{pair.target}' is {_wxh((tw, th))}; expected the target's size.",
                )
            )
    height, width = spec.resize or (th, tw)
    if spec.crop and (spec.crop > height or spec.crop > width):
        resized = f", resized to {width}x{height}," if spec.resize else ","
        problems.append(
            Problem(
                pair.target,
                f"'{pair.target}' is {_wxh((tw, th))}{resized} smaller than the crop "
                f"{spec.crop}x{spec.crop}: lower data.crop_size / data.eval_crop or remove the pair.",
            )
        )
    return problems


def check_pairs(
    pairs: Sequence[PairFiles | Sequence[Any]],
    *,
    crop: int | None = None,
    scale: int = 1,
    full: bool = True,
    degraded: bool = False,
    resize: tuple[int, int] | None = None,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    threads: int | None = None,
    progress: bool = True,
) -> list[Problem]:
    """Every problem of ``pairs`` (see the module docstring), in the pairs' order.

    Args:
        pairs: ``PairFiles`` or ``(input, target[, mask])`` tuples.
        crop, scale, degraded, resize: see :class:`CheckItems`.
        full: decode every file (finds truncation); else read the headers only.
        cache_dir: where results are cached (default :func:`default_cache_dir`).
        use_cache: ``False`` reads and writes no cache.
        threads: decode threads (default ``2 x`` CPUs, at most 16).
        progress: draw a progress bar when there are many files to read.
    """
    spec = CheckItems(
        pairs=[PairFiles(*(None if p is None else Path(p) for p in pair)) for pair in pairs],
        crop=crop,
        scale=scale,
        degraded=degraded,
        resize=resize,
    )
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache = FileCache(root if use_cache else None)
    return _check(spec, full=full, cache=cache, threads=threads, progress=progress)


def _check(
    spec: CheckItems, *, full: bool, cache: FileCache, threads: int | None, progress: bool
) -> list[Problem]:
    paths = dict.fromkeys(p for pair in spec.pairs for p in pair if p is not None)
    files = inspect_files(paths, full=full, cache=cache, threads=threads, progress=progress)
    return [problem for pair in spec.pairs for problem in _pair_problems(pair, files, spec)]


def format_problems(
    problems: Sequence[Problem], *, mode: str = "full", before: str = "training", shown: int = SHOWN
) -> str:
    """One message for all ``problems``: the first ``shown``, then how many more."""
    lines = [f"  - {p}" for p in problems[:shown]]
    if len(problems) > shown:
        lines.append(f"  ... and {len(problems) - shown} more")
    return (
        f"{len(problems)} problem(s) found in the data before {before} (data.check={mode}):\n"
        + "\n".join(lines)
        + f"\nFix or remove these files (or their pairs) and start again; no {before} step ran."
    )


def check_datasets(
    datasets: Mapping[str, object],
    *,
    mode: CheckMode = "full",
    cache_dir: str | os.PathLike | None = None,
    before: str = "training",
) -> list[Problem]:
    """Check every dataset (``split -> dataset``) that has a ``check_items()`` method;
    ``before`` says what is about to start ("training", "evaluation"), for the message.

    Raises:
        DataCheckError: some file has a problem (``mode="off"`` checks nothing).
    """
    if mode == "off":
        return []
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache = FileCache(root)
    problems: list[Problem] = []
    seen: set[str] = set()  # validation and test are often one set of files
    for split, dataset in datasets.items():
        items = getattr(dataset, "check_items", None)
        if items is None:
            continue
        for problem in _check(
            items(), full=mode == "full", cache=cache, threads=None, progress=True
        ):
            if problem.message not in seen:
                seen.add(problem.message)
                problems.append(Problem(problem.path, problem.message, split))
    if problems:
        raise DataCheckError(format_problems(problems, mode=mode, before=before))
    return problems
