"""Which files `src/deblur.py` reads and writes: inputs found, outputs planned, originals safe.

A file input writes one file (into the output folder under its own name, or to
`output` itself when that names an image file); a folder input writes every image of it
(with `recursive`, of its whole tree, mirrored) under the output folder. Nothing is
planned over the user's originals unless they ask for it (`overwrite`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from restoregan.data.io import IMAGE_EXTENSIONS


class PhotoError(ValueError):
    """A deblur input/output setting that cannot be used (names it, says what to do)."""


@dataclass(frozen=True)
class Job:
    """One image to restore: read `source`, write `target`."""

    source: Path
    target: Path


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def _hidden(path: Path, root: Path) -> bool:
    # Dot files (macOS "._IMG_0001.jpg" resource forks carry an image suffix but are not
    # images) and anything inside dot folders.
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _within(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def scan(folder: Path, *, recursive: bool = False, exclude: Path | None = None) -> list[Path]:
    """The image files of `folder` (of its whole tree with `recursive`), sorted; hidden
    files and anything under `exclude` (the output folder) are skipped."""
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p
        for p in candidates
        if p.is_file()
        and _is_image_name(p)
        and not _hidden(p, folder)
        and not (exclude is not None and _within(p, exclude))
    )


def plan(
    source: Path, output: Path, *, recursive: bool = False, overwrite: bool = False
) -> list[Job]:
    """The jobs that restore `source` (an image file or a folder) into `output`.

    Raises `PhotoError` for a missing input, a folder without images, a folder input
    with an image-file output, and (unless `overwrite`) an output that is the input
    folder, lies inside it, or would replace an input file.
    """
    names = ", ".join(IMAGE_EXTENSIONS)
    if not source.exists():
        raise PhotoError(
            f"input={source} does not exist; expected an image file or a folder of images"
        )
    file_output = _is_image_name(output) and not output.is_dir()
    if source.is_file():
        if not _is_image_name(source):
            raise PhotoError(f"input={source} is not an image file; expected one of {names}")
        jobs = [Job(source, output if file_output else output / source.name)]
    else:
        if file_output:
            raise PhotoError(
                f"input={source} is a folder, so output must be a folder, got output={output} "
                "(an image file name); give a folder, e.g. output=restored/"
            )
        if not overwrite and _within(output, source):
            raise PhotoError(
                f"output={output} is the input folder {source} or inside it: restored images "
                "would replace or mix with your originals. Choose another folder, e.g. "
                "output=restored/, or set overwrite=true to write there anyway."
            )
        # An output folder inside the input (overwrite=true) is never read back as input.
        inside = output.resolve() != source.resolve()
        files = scan(source, recursive=recursive, exclude=output if inside else None)
        if not files:
            sub = any(p.is_dir() for p in source.iterdir())
            hint = "; add recursive=true to include its subfolders" if sub and not recursive else ""
            raise PhotoError(f"no images ({names}) found in folder {source}{hint}")
        jobs = [Job(p, output / p.relative_to(source)) for p in files]
    if not overwrite:
        clashes = [j for j in jobs if j.target.resolve() == j.source.resolve()]
        if clashes:
            raise PhotoError(
                f"output={output} would overwrite the input {clashes[0].source}; choose another "
                "output, or set overwrite=true to replace the original"
            )
    return jobs


@contextmanager
def progress(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar over `total` images on stderr; yields `advance(n)`. Silent when
    stderr is not a terminal (CI, logs), where the per-image lines tell the story."""
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
