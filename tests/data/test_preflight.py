"""restoregan.data.preflight: what `check_pairs` finds, and its cache."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from restoregan.cli.errors import is_user_error, user_message
from restoregan.data import filecheck
from restoregan.data.io import DatasetError
from restoregan.data.preflight import (
    DataCheckError,
    PairFiles,
    Problem,
    check_pairs,
    format_problems,
)


def _save(path: Path, height: int, width: int, *, mode: str = "RGB", fmt: str | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(height * 1000 + width)
    shape = (height, width, 3) if mode == "RGB" else (height, width)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path, fmt)
    return path


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _check(pairs, tmp_path, **kwargs) -> list[Problem]:
    return check_pairs(pairs, cache_dir=tmp_path / "cache", **kwargs)


def test_good_pairs_have_no_problem(tmp_path):
    a, b = _save(tmp_path / "a.png", 20, 30), _save(tmp_path / "b.jpg", 20, 30)
    mask = _save(tmp_path / "m.png", 20, 30, mode="L")
    assert _check([(a, b, mask), PairFiles(a, b)], tmp_path, crop=16) == []


def test_pair_of_different_sizes(tmp_path):
    a, b = _save(tmp_path / "a.png", 20, 30), _save(tmp_path / "b.png", 20, 31)
    [problem] = _check([(a, b)], tmp_path)
    assert problem.path == a
    assert str(a) in problem.message and str(b) in problem.message
    assert "30x20 (WxH)" in problem.message and "31x20 (WxH)" in problem.message
    assert "expected the same size" in problem.message


@pytest.mark.parametrize("name", ["t.png", "t.jpg"])
def test_truncated_file_is_found_by_the_full_check_only(tmp_path, name):
    good = _save(tmp_path / "good.png", 96, 96)
    bad = _truncate(_save(tmp_path / name, 96, 96))  # large enough to keep its header
    [problem] = _check([(bad, good)], tmp_path, full=True)
    assert problem.path == bad and "truncated" in problem.message
    assert "expected a readable image" in problem.message
    # The header is intact: sizes alone cannot tell.
    assert _check([(bad, good)], tmp_path, full=False, use_cache=False) == []


def test_non_image_with_an_image_extension(tmp_path):
    good = _save(tmp_path / "good.png", 24, 24)
    fake = tmp_path / "notes.png"
    fake.write_text("not an image")
    missing = tmp_path / "gone.png"
    problems = _check([(fake, good), (good, missing)], tmp_path, full=False)
    assert [p.path for p in problems] == [fake, missing]
    assert "UnidentifiedImageError" in problems[0].message
    assert "no file there" in problems[1].message


def test_image_smaller_than_the_crop(tmp_path):
    a, b = _save(tmp_path / "a.png", 20, 40), _save(tmp_path / "b.png", 20, 40)
    assert _check([(a, b)], tmp_path, crop=20) == []
    [problem] = _check([(a, b)], tmp_path, crop=24)
    assert problem.path == b
    assert "40x20 (WxH), smaller than the crop 24x24" in problem.message
    # A resize happens before the crop: the resized size is what must hold it.
    [resized] = _check([(a, b)], tmp_path, crop=24, resize=(16, 16))
    assert "resized to 16x16" in resized.message
    assert _check([(a, b)], tmp_path, crop=24, resize=(32, 32)) == []


def test_sr_pair_must_be_scale_times_smaller(tmp_path):
    lr = _save(tmp_path / "lr.png", 10, 12)
    exact, larger = _save(tmp_path / "hr.png", 40, 48), _save(tmp_path / "hr2.png", 43, 51)
    wrong = _save(tmp_path / "x2.png", 20, 24)
    # An HR image larger by less than the scale is cropped to fit (HR "mod-crop").
    assert _check([(lr, exact), (lr, larger)], tmp_path, scale=4, crop=40) == []
    [problem] = _check([(lr, wrong)], tmp_path, scale=4)
    assert problem.path == lr and "expected target = 4 x input (HR 48x40)" in problem.message
    # The crop is compared with the usable HR size.
    [small] = _check([(lr, larger)], tmp_path, scale=4, crop=44)
    assert "smaller than the crop 44x44" in small.message


def test_degraded_pairs_need_equal_files_large_enough_for_the_scale(tmp_path):
    hr = _save(tmp_path / "hr.png", 30, 30)
    other = _save(tmp_path / "blur.png", 30, 32)
    assert _check([(hr, hr)], tmp_path, scale=4, degraded=True, crop=28) == []
    [crop] = _check([(hr, hr)], tmp_path, scale=4, degraded=True, crop=32)
    assert "smaller than the crop 32x32" in crop.message
    [size] = _check([(other, hr)], tmp_path, scale=4, degraded=True)
    assert "expected the same size" in size.message
    tiny = _save(tmp_path / "tiny.png", 3, 8)
    [scale] = _check([(tiny, tiny)], tmp_path, scale=4, degraded=True)
    assert "smaller than x4" in scale.message


def test_masks_of_the_wrong_size_or_not_single_channel(tmp_path):
    a, b = _save(tmp_path / "a.png", 20, 30), _save(tmp_path / "b.png", 20, 30)
    small = _save(tmp_path / "small.png", 20, 29, mode="L")
    rgb = _save(tmp_path / "rgb.png", 20, 30)
    grey_alpha = tmp_path / "la.png"
    Image.new("LA", (30, 20)).save(grey_alpha)
    wide = _save(tmp_path / "16bit.png", 20, 30, mode="L")
    Image.open(wide).convert("I;16").save(wide)
    problems = _check([(a, b, small), (a, b, rgb), (a, b, grey_alpha), (a, b, wide)], tmp_path)
    assert [p.path for p in problems] == [small, rgb, grey_alpha]
    assert (
        "29x20 (WxH)" in problems[0].message and "expected the target's size" in problems[0].message
    )
    assert "is a RGB image; expected a single-channel" in problems[1].message
    assert "is a LA image" in problems[2].message
    # SR: the mask has the (cropped-to-fit) HR size.
    lr, hr = _save(tmp_path / "lr.png", 5, 5), _save(tmp_path / "hr.png", 21, 22)
    hr_mask, full_mask = (
        _save(tmp_path / "hm.png", 20, 20, mode="L"),
        _save(tmp_path / "fm.png", 21, 22, mode="L"),
    )
    assert _check([(lr, hr, hr_mask)], tmp_path, scale=4) == []
    assert len(_check([(lr, hr, full_mask)], tmp_path, scale=4)) == 1


def test_many_problems_show_the_first_20_and_a_count(tmp_path):
    good = _save(tmp_path / "good.png", 8, 8)
    pairs = []
    for i in range(25):
        bad = tmp_path / f"bad{i:02d}.png"
        bad.write_bytes(b"")
        pairs.append((bad, good))
    problems = _check(pairs, tmp_path, full=False)
    message = format_problems(problems, mode="headers")
    assert message.startswith(
        "25 problem(s) found in the data before training (data.check=headers)"
    )
    listed = [line for line in message.splitlines() if line.startswith("  - ")]
    assert len(listed) == 20 and "bad00.png" in listed[0] and "bad19.png" in listed[-1]
    assert "bad20.png" not in message and "  ... and 5 more" in message


def test_the_error_is_one_user_message():
    err = DataCheckError(format_problems([Problem(Path("x.png"), "'x.png': broken")]))
    assert isinstance(err, DatasetError) and is_user_error(err)
    assert "'x.png': broken" in user_message(err)


def _counting_probe(monkeypatch) -> list[tuple[Path, bool]]:
    calls: list[tuple[Path, bool]] = []
    real = filecheck._probe

    def probe(path: Path, full: bool):
        calls.append((path, full))
        return real(path, full)

    monkeypatch.setattr(filecheck, "_probe", probe)
    return calls


def test_second_check_reads_no_file_until_one_changes(tmp_path, monkeypatch):
    files = [_save(tmp_path / "data" / f"{i}.png", 16, 16) for i in range(4)]
    pairs = [(files[0], files[1]), (files[2], files[3])]
    calls = _counting_probe(monkeypatch)
    assert _check(pairs, tmp_path) == []
    assert sorted(p for p, _ in calls) == sorted(files) and all(full for _, full in calls)
    [cached] = (tmp_path / "cache").glob("*.json")  # one small file for the folder
    umask = os.umask(0)
    os.umask(umask)
    assert cached.stat().st_mode & 0o777 == 0o666 & ~umask  # the user's normal permissions
    calls.clear()
    assert _check(pairs, tmp_path) == [] and calls == []  # all decoded before: no file opened
    # A changed file (new mtime) is looked at again, and only that one.
    stat = files[2].stat()
    os.utime(files[2], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert _check(pairs, tmp_path) == []
    assert calls == [(files[2], True)]
    # A file overwritten with broken content is found, whatever the cache says.
    calls.clear()
    files[3].write_bytes(b"broken")
    [problem] = _check(pairs, tmp_path)
    assert problem.path == files[3] and [p for p, _ in calls] == [files[3]]


def test_headers_cached_do_not_stand_for_a_decode(tmp_path, monkeypatch):
    a, b = _save(tmp_path / "a.png", 16, 16), _save(tmp_path / "b.png", 16, 16)
    calls = _counting_probe(monkeypatch)
    _check([(a, b)], tmp_path, full=False)
    assert len(calls) == 2
    _check([(a, b)], tmp_path, full=False)
    assert len(calls) == 2  # headers known
    _check([(a, b)], tmp_path, full=True)
    assert calls[2:] == [(a, True), (b, True)]  # never decoded: decoded now
    _check([(a, b)], tmp_path, full=False)
    assert len(calls) == 4  # a decode covers the headers


def test_problems_are_not_cached_and_a_broken_cache_is_ignored(tmp_path, monkeypatch):
    good, bad = _save(tmp_path / "d" / "a.png", 16, 16), tmp_path / "d" / "b.png"
    bad.write_text("x")
    assert len(_check([(bad, good)], tmp_path)) == 1
    calls = _counting_probe(monkeypatch)
    assert len(_check([(bad, good)], tmp_path)) == 1
    assert calls == [(bad, True)]
    for cached in (tmp_path / "cache").glob("*.json"):
        cached.write_text("{not json")
    calls.clear()
    assert len(_check([(bad, good)], tmp_path)) == 1 and len(calls) == 2


def test_an_unwritable_cache_only_costs_the_next_run(tmp_path, monkeypatch):
    a = _save(tmp_path / "a.png", 16, 16)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder would go")
    assert check_pairs([(a, a)], cache_dir=blocker / "checks") == []
