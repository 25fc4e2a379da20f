from __future__ import annotations

import pytest

from restoregan.data.folders import match_by_stem, match_masks
from restoregan.data.io import DatasetError


def test_match_by_stem_any_extension_and_suffix(tmp_path, make_image):
    make_image(tmp_path / "in" / "0001x4.png", 4, 4)
    make_image(tmp_path / "in" / "0002x4.jpg", 4, 4)
    make_image(tmp_path / "out" / "0001.png", 16, 16)
    make_image(tmp_path / "out" / "0002.png", 16, 16)
    pairs = match_by_stem(tmp_path / "in", tmp_path / "out", input_suffix="x4", name_prefix="s/")
    assert [(a.name, b.name, n) for a, b, n in pairs] == [
        ("0001x4.png", "0001.png", "s/0001.png"),
        ("0002x4.jpg", "0002.png", "s/0002.png"),
    ]


def test_match_by_stem_errors(tmp_path, make_image):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    with pytest.raises(DatasetError, match=r"No images found in '.*in'.*\*\.png"):
        match_by_stem(tmp_path / "in", tmp_path / "out")
    make_image(tmp_path / "in" / "lonely.png", 4, 4)
    with pytest.raises(DatasetError, match=r"no target \(sharp/HR\) partner.*lonely\.png"):
        match_by_stem(tmp_path / "in", tmp_path / "out")
    make_image(tmp_path / "out" / "lonely.jpg", 4, 4)
    make_image(tmp_path / "out" / "extra.png", 4, 4)
    with pytest.raises(DatasetError, match=r"no input \(blurred/LR\) partner.*extra\.png"):
        match_by_stem(tmp_path / "in", tmp_path / "out")
    make_image(tmp_path / "in" / "lonely.jpg", 4, 4)
    with pytest.raises(DatasetError, match="share the stem 'lonely'"):
        match_by_stem(tmp_path / "in", tmp_path / "out")


def test_masks_are_matched_by_the_sharp_stem_and_extras_are_ignored(tmp_path, make_image):
    for stem in ("a", "b"):
        make_image(tmp_path / "blur" / f"{stem}.png", 4, 4)
        make_image(tmp_path / "sharp" / f"{stem}.jpg", 4, 4)
        make_image(tmp_path / "mask" / f"{stem}_mask.png", 4, 4)
    make_image(tmp_path / "mask" / "other_split_mask.png", 4, 4)
    pairs = match_by_stem(tmp_path / "blur", tmp_path / "sharp")
    masks = match_masks(pairs, tmp_path / "mask", suffix="_mask")
    assert [m.name for m in masks] == ["a_mask.png", "b_mask.png"]
    with pytest.raises(DatasetError, match=r"2 pair\(s\) have no mask.*'a\.\*'.*data\.mask_suffix"):
        match_masks(pairs, tmp_path / "mask")
    with pytest.raises(DatasetError, match=r"Mask folder '.*nowhere' does not exist"):
        match_masks(pairs, tmp_path / "nowhere")
