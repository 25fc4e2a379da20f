from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from restoregan.data.io import (
    DatasetError,
    ImageReadError,
    read_image,
    to_tensor,
    to_uint8,
    write_image,
)


def test_round_trip_png(tmp_path, make_image):
    array = make_image(tmp_path / "a.png", 7, 9)
    out = read_image(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.shape == (7, 9, 3)
    np.testing.assert_array_equal(out, array)


def test_write_image_is_atomic_and_leaves_no_temp(tmp_path):
    array = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    write_image(tmp_path / "sub" / "x.png", array)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["x.png"]
    np.testing.assert_array_equal(read_image(tmp_path / "sub" / "x.png"), array)


def test_write_image_rejects_float(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 3), np.float32))


def test_grayscale_becomes_rgb(tmp_path):
    gray = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
    Image.fromarray(gray, mode="L").save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (4, 5, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)


def test_grayscale_alpha_drops_alpha(tmp_path):
    la = np.stack([np.full((4, 5), 77, np.uint8), np.zeros((4, 5), np.uint8)], axis=-1)
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    out = read_image(tmp_path / "la.png")
    assert out.shape == (4, 5, 3) and (out == 77).all()


def test_rgba_drops_alpha_keeping_colour(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 200, 100, 50, 10
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    out = read_image(tmp_path / "rgba.png")
    assert out.shape == (4, 5, 3)
    np.testing.assert_array_equal(out[0, 0], [200, 100, 50])


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (5, 4))
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.putpixel((1, 1), 1)
    im.info["transparency"] = 0
    im.save(tmp_path / "p.png", transparency=0)
    out = read_image(tmp_path / "p.png")
    assert out.shape == (4, 5, 3)
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(out[1, 1], [0, 255, 0])


def test_16bit_gray_scaled_with_rounding(tmp_path):
    values = np.array([[0, 128, 129, 257, 385, 386, 65535]], np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), values)
    out = read_image(tmp_path / "g16.png")
    # v / 257 rounded: 0.498 -> 0, 0.502 -> 1, 1.498 -> 1, 1.502 -> 2
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 1, 1, 1, 2, 255])


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_keeps_full_precision(tmp_path, channels):
    rgb16 = np.full((2, 3, channels), 65535, np.uint16)
    rgb16[..., 0], rgb16[..., 1], rgb16[..., 2] = 65535, 129, 30000  # R, G, B (alpha opaque)
    order = [2, 1, 0, 3][:channels]  # OpenCV writes BGR(A)
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[..., order])
    out = read_image(tmp_path / "c16.png")
    # PIL alone would keep the high byte only (129 -> 0, 30000 -> 116)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out[0, 0], [255, 1, round(30000 / 257)])


def test_missing_file_names_path(tmp_path):
    with pytest.raises(ImageReadError, match=r"nope\.png.*PNG/JPEG"):
        read_image(tmp_path / "nope.png")


def test_not_an_image(tmp_path):
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(ImageReadError, match=r"text\.png.*not an image or is truncated"):
        read_image(tmp_path / "text.png")


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file(tmp_path, make_image, suffix):
    path = tmp_path / f"full{suffix}"
    make_image(path, 64, 64)
    data = path.read_bytes()
    (tmp_path / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=f"cut\\{suffix}") as info:
        read_image(tmp_path / f"cut{suffix}")
    assert isinstance(info.value, DatasetError) and isinstance(info.value, ValueError)


def test_tensor_round_trip():
    array = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    tensor = to_tensor(array)
    assert tensor.shape == (3, 5, 6) and tensor.dtype == torch.float32
    assert tensor.min() >= 0.0 and tensor.max() <= 1.0
    np.testing.assert_array_equal(to_uint8(tensor), array)
    np.testing.assert_array_equal(to_uint8(torch.full((3, 1, 1), 2.0))[0, 0], [255, 255, 255])
