"""A user's photos: EXIF orientation applied, metadata and JPEG quality carried over."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from restoregan.data.io import ImageWriteError, read_image, read_photo, write_image

RNG = np.random.default_rng(0)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def photo(path: Path, *, orientation: int = 1, **save) -> np.ndarray:
    """Save random pixels with an EXIF orientation (and a camera make) and an ICC profile."""
    pixels = RNG.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    im = Image.fromarray(pixels)
    exif = im.getexif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    im.save(path, exif=exif.tobytes(), icc_profile=SRGB, **save)
    return pixels


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pils_exif_transpose(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / "phone.png"
    photo(path, orientation=orientation)
    pixels, info = read_photo(path)
    with Image.open(path) as im:
        upright = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert np.array_equal(pixels, upright)
    assert info.orientation == orientation
    # read_image keeps the stored pixels: dataset pairs stay aligned as stored.
    assert read_image(path).shape == (12, 20, 3)


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_exif_and_icc_are_kept_with_orientation_reset(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "in.jpg"
    photo(src, orientation=6, quality=90)
    pixels, info = read_photo(src)
    assert pixels.shape == (20, 12, 3)  # turned upright
    out = tmp_path / f"out{suffix}"
    write_image(out, pixels, info=info)
    with Image.open(out) as im:
        exif = im.getexif()
        assert exif[0x010F] == "TestCam"
        assert exif[0x0112] == 1  # the pixels are upright now: viewers must not turn them again
        assert im.info["icc_profile"] == SRGB
        assert im.size == (12, 20)


def test_bmp_has_no_metadata_and_still_writes(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    photo(src)
    pixels, info = read_photo(src)
    write_image(tmp_path / "out.bmp", pixels, info=info)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.bmp")), pixels)


@pytest.mark.parametrize(("quality", "subsampling"), [(62, 2), (93, 0)])
def test_jpeg_keeps_the_inputs_quantisation_tables(tmp_path: Path, quality, subsampling) -> None:
    src = tmp_path / "in.jpg"
    photo(src, quality=quality, subsampling=subsampling)
    pixels, info = read_photo(src)
    write_image(tmp_path / "out.jpg", pixels, info=info)
    with Image.open(src) as a, Image.open(tmp_path / "out.jpg") as b:
        assert b.quantization == a.quantization
        assert b.layer == a.layer  # same chroma subsampling
    # Not PIL's default of 75: a file written without the input's tables differs.
    write_image(tmp_path / "default.jpg", pixels)
    with Image.open(tmp_path / "default.jpg") as d, Image.open(src) as a:
        assert d.quantization != a.quantization
    write_image(tmp_path / "q50.jpg", pixels, info=info, quality=50)
    with Image.open(tmp_path / "q50.jpg") as q, Image.open(src) as a:
        assert q.quantization != a.quantization  # an explicit quality wins


def test_photo_without_metadata_reads_like_read_image(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.fromarray(RNG.integers(0, 256, (5, 7), dtype=np.uint8)).save(path)
    pixels, info = read_photo(path)
    assert np.array_equal(pixels, read_image(path))
    assert (info.orientation, info.exif, info.icc_profile, info.jpeg_qtables) == (
        1,
        None,
        None,
        None,
    )


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "restored"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(ImageWriteError, match=r"Cannot write image .*restored/x\.png"):
        write_image(blocker / "x.png", np.zeros((2, 2, 3), np.uint8))
