"""Pixels of a reframed output frame: a crop scaled to the output, or the whole frame on a blur.

Both work on the decoded YUV 4:2:0 planes (`egvs.media.picture.Yuv420`): no RGB on the way.
"""

from __future__ import annotations

import cv2

from egvs.media.picture import Yuv420

_BLUR_SHRINK = 16  # the background is blurred at 1/16 of the output size: cheap and very soft
_BACKGROUND_GAIN = 0.6  # darker background so the sharp picture stands out


def apply_crop(picture: Yuv420, box: tuple[int, int, int, int], out_w: int, out_h: int) -> Yuv420:
    """The ``box`` (x, y, w, h, source pixels) of ``picture`` scaled to ``out_w`` x ``out_h``."""
    x, y, w, h = (int(v) for v in box)
    return picture.crop(x, y, w, h).resize(out_w, out_h)


def fill_frame(picture: Yuv420, out_w: int, out_h: int) -> Yuv420:
    """The whole frame fitted into ``out_w`` x ``out_h`` over a blurred, darkened, scaled-up copy.

    For group shots no crop can hold: everyone stays visible and the output is still full.
    """
    w, h = picture.width, picture.height
    cover = max(out_w / w, out_h / h)
    cw, ch = min(w, round(out_w / cover)), min(h, round(out_h / cover))
    small = picture.crop((w - cw) // 2, (h - ch) // 2, cw, ch).resize(
        max(2, out_w // _BLUR_SHRINK // 2 * 2), max(2, out_h // _BLUR_SHRINK // 2 * 2)
    )
    small = Yuv420(
        *(
            cv2.GaussianBlur(p, (0, 0), s)
            for p, s in zip((small.y, small.u, small.v), (1.5, 0.75, 0.75), strict=True)
        )
    )
    background = small.resize(out_w, out_h).dimmed(_BACKGROUND_GAIN)
    fit = min(out_w / w, out_h / h)
    fw, fh = max(2, round(w * fit / 2) * 2), max(2, round(h * fit / 2) * 2)
    return background.pasted(picture.resize(fw, fh), (out_w - fw) // 2, (out_h - fh) // 2)
