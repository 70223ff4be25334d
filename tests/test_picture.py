"""YUV 4:2:0 pictures (`egvs.media.picture`): what the renderer's crops and captions work on."""

from __future__ import annotations

import av
import numpy as np
import pytest

from egvs.media.picture import Yuv420


def _gradient(h: int = 120, w: int = 160) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, 90)], axis=2).astype(np.uint8)


def test_rgb_round_trip_and_frames_keep_the_picture():
    rgb = _gradient()
    picture = Yuv420.from_rgb(rgb)
    assert (picture.width, picture.height) == (160, 120)
    assert picture.u.shape == picture.v.shape == (60, 80)
    assert np.abs(picture.to_rgb().astype(int) - rgb).max() <= 6  # 4:2:0 and rounding only
    frame = picture.to_frame()
    assert (frame.width, frame.height, frame.format.name) == (160, 120, "yuv420p")
    again = Yuv420.from_frame(frame)
    for a, b in zip((picture.y, picture.u, picture.v), (again.y, again.u, again.v), strict=True):
        assert np.array_equal(a, b)
    # another pixel format is converted; the picture stays the same
    converted = Yuv420.from_frame(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
    assert np.abs(converted.to_rgb().astype(int) - rgb).max() <= 8


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_from_frame_turns_the_picture_upright(rotation):
    rgb = _gradient()
    frame = Yuv420.from_rgb(rgb).to_frame()
    turned = Yuv420.from_frame(frame, rotation)
    expected = np.rot90(Yuv420.from_rgb(rgb).y, rotation // 90)
    assert np.array_equal(turned.y, expected)
    assert turned.u.shape == (turned.height // 2, turned.width // 2)


def test_crop_lines_chroma_up_and_resize_scales_every_plane():
    rgb = np.zeros((120, 160, 3), np.uint8)
    rgb[:, 81:] = (200, 30, 30)  # red from an odd column on
    picture = Yuv420.from_rgb(rgb)
    box = picture.crop(81, 3, 41, 51)  # odd edges grow to even ones: (80, 2) .. (122, 54)
    assert (box.width, box.height) == (42, 52)
    assert box.u.shape == (26, 21)
    assert box.y.base is not None  # a view of the source, not a copy
    big = box.resize(84, 104)
    assert big.y.shape == (104, 84) and big.u.shape == (52, 42) and big.v.shape == (52, 42)
    out = big.to_rgb()
    assert out[:, 10:, 0].mean() > 180 and out[:, 10:, 1].mean() < 60  # red, not shifted chroma


def test_blended_matches_blending_the_rgb_and_leaves_the_source_alone():
    base_rgb = np.full((64, 96, 3), (40, 120, 200), np.uint8)
    top_rgb = np.full((20, 30, 3), (250, 250, 250), np.uint8)
    alpha = np.zeros((20, 30), np.float32)
    alpha[:, 10:] = 1.0
    alpha[:, 5:10] = 0.5
    base = Yuv420.from_rgb(base_rgb)
    before = base.y.copy()
    out = base.blended(Yuv420.from_rgb(top_rgb), alpha, 10, 20).to_rgb()
    assert np.array_equal(base.y, before)
    expected = base.to_rgb().astype(np.float32)
    expected[20:40, 10:40] = (
        expected[20:40, 10:40] * (1 - alpha[..., None]) + 250 * alpha[..., None]
    )
    assert np.abs(out.astype(int) - expected.astype(int))[20:40, 22:40].max() <= 4  # opaque part
    assert np.abs(out.astype(int) - expected.astype(int))[:, 50:].max() <= 1  # untouched part


def test_dimmed_darkens_like_rgb_and_pasted_places_a_picture():
    grey = Yuv420.from_rgb(np.full((32, 32, 3), (200, 100, 50), np.uint8))
    dim = grey.dimmed(0.5).to_rgb().astype(int)
    assert np.abs(dim - np.array([100, 50, 25])).max() <= 4
    black = Yuv420.from_rgb(np.zeros((64, 64, 3), np.uint8))
    out = black.pasted(grey, 16, 8).to_rgb()
    assert out[8:40, 16:48].mean() > 90 and out[:8].max() < 5 and out[:, :16].max() < 5
