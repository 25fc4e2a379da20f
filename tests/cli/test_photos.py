"""What deblur.py reads and writes (`restoregan.cli.photos.plan`): originals stay safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from restoregan.cli.photos import Job, PhotoError, plan


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # plan looks at names only; reading is deblur.py's job
    return path


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for name in ("a.jpg", "b.PNG", "notes.txt", "._a.jpg", "trip/c.png", "trip/day2/d.webp"):
        touch(root / name)
    touch(root / ".thumbnails" / "e.png")
    return root


def test_a_folder_keeps_names_and_skips_non_images_and_hidden_files(photos, tmp_path) -> None:
    out = tmp_path / "out"
    jobs = plan(photos, out)
    assert jobs == [Job(photos / "a.jpg", out / "a.jpg"), Job(photos / "b.PNG", out / "b.PNG")]


def test_recursive_mirrors_the_tree(photos, tmp_path) -> None:
    out = tmp_path / "out"
    targets = [j.target.relative_to(out).as_posix() for j in plan(photos, out, recursive=True)]
    assert targets == ["a.jpg", "b.PNG", "trip/c.png", "trip/day2/d.webp"]


def test_a_single_file_goes_into_a_folder_or_to_the_named_file(photos, tmp_path) -> None:
    src = photos / "a.jpg"
    assert plan(src, tmp_path / "out") == [Job(src, tmp_path / "out" / "a.jpg")]
    assert plan(src, tmp_path / "restored.png") == [Job(src, tmp_path / "restored.png")]
    with pytest.raises(PhotoError, match="is a folder, so output must be a folder"):
        plan(photos, tmp_path / "restored.png")


@pytest.mark.parametrize("where", ["same", "inside"])
def test_output_in_the_input_folder_is_refused_unless_overwrite(photos, where) -> None:
    out = photos if where == "same" else photos / "restored"
    with pytest.raises(PhotoError, match=r"is the input folder .* or inside it.*overwrite=true"):
        plan(photos, out)
    touch(photos / "restored" / "a.jpg")  # written by an earlier run
    jobs = plan(photos, out, overwrite=True, recursive=True)
    sources = sorted(j.source.relative_to(photos).as_posix() for j in jobs)
    expected = ["a.jpg", "b.PNG", "trip/c.png", "trip/day2/d.webp"]
    # An output folder inside the input is never read back as input.
    assert sources == (sorted([*expected, "restored/a.jpg"]) if where == "same" else expected)


def test_a_file_output_that_replaces_its_input_is_refused(photos) -> None:
    with pytest.raises(PhotoError, match="would overwrite the input"):
        plan(photos / "a.jpg", photos)
    with pytest.raises(PhotoError, match="would overwrite the input"):
        plan(photos / "a.jpg", photos / "a.jpg")
    assert plan(photos / "a.jpg", photos, overwrite=True)[0].target == photos / "a.jpg"


def test_missing_and_empty_inputs_say_what_to_do(tmp_path) -> None:
    with pytest.raises(PhotoError, match="does not exist; expected an image file or a folder"):
        plan(tmp_path / "nowhere", tmp_path / "out")
    empty = tmp_path / "empty"
    touch(empty / "sub" / "x.png")
    with pytest.raises(PhotoError, match=r"no images .* found in folder .*add recursive=true"):
        plan(empty, tmp_path / "out")
    with pytest.raises(PhotoError, match="is not an image file"):
        plan(touch(tmp_path / "notes.txt"), tmp_path / "out")
