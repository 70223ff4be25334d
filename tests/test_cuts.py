"""`egvs.media.cuts`: a cut is found on the first frame of a new shot, and nowhere else."""

from __future__ import annotations

import av
import numpy as np

from egvs.media.cuts import CUT_WIDTH, CutFinder, _small_rgb


def _frame(rgb: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")


def _scene(colours: tuple, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Vertical bands of ``colours`` with compression-like noise."""
    h, w = shape
    picture = np.zeros((h, w, 3), np.float32)
    for i, colour in enumerate(colours):
        picture[:, i * w // len(colours) : (i + 1) * w // len(colours)] = colour
    picture += rng.normal(0, 6, picture.shape)
    return np.clip(picture, 0, 255).astype(np.uint8)


def test_a_cut_is_found_on_the_new_shots_first_frame_only():
    rng = np.random.default_rng(0)
    first = ((200, 30, 30), (30, 30, 200), (240, 240, 240))
    second = ((30, 180, 40), (230, 220, 40), (20, 20, 20))
    frames = [_scene(first, (720, 1280), rng) for _ in range(5)]
    frames += [_scene(second, (720, 1280), rng) for _ in range(5)]
    finder = CutFinder()
    assert [i for i, rgb in enumerate(frames) if finder.is_cut(_frame(rgb))] == [5]


def test_the_small_picture_is_about_cut_width_across_for_any_size():
    rng = np.random.default_rng(1)
    for height, width in ((720, 1280), (241, 427), (1080, 1920), (90, 120), (1280, 720)):
        small = _small_rgb(_frame(_scene(((90, 90, 200),), (height, width), rng)))
        assert small.ndim == 3 and small.shape[2] == 3
        assert small.shape[0] % 2 == 0 and small.shape[1] % 2 == 0
        assert min(width, CUT_WIDTH) * 0.7 <= small.shape[1] <= max(width, 2 * CUT_WIDTH)
        # the colour survives the subsampling (BT.601 round trip, noise averaged by the mean)
        assert np.abs(small.reshape(-1, 3).mean(0) - (90, 90, 200)).max() < 12
