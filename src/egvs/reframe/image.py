"""Pixels of a reframed output frame: a crop scaled to the output, or the whole frame on a blur."""

from __future__ import annotations

import cv2
import numpy as np

_BLUR_SHRINK = 16  # the background is blurred at 1/16 of the output size: cheap and very soft
_BACKGROUND_GAIN = 0.6  # darker background so the sharp picture stands out


def _resize(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    """INTER_AREA when shrinking (no aliasing), bilinear when enlarging (AREA would be blocky)."""
    shrink = w <= rgb.shape[1] and h <= rgb.shape[0]
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def apply_crop(
    rgb: np.ndarray, box: tuple[int, int, int, int], out_w: int, out_h: int
) -> np.ndarray:
    """The ``box`` (x, y, w, h, source pixels) of ``rgb`` scaled to ``out_w`` x ``out_h``."""
    x, y, w, h = (int(v) for v in box)
    return _resize(rgb[y : y + h, x : x + w], out_w, out_h)


def fill_frame(rgb: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    """The whole frame fitted into ``out_w`` x ``out_h`` over a blurred, darkened, scaled-up copy.

    For group shots no crop can hold: everyone stays visible and the output is still full.
    """
    h, w = rgb.shape[:2]
    cover = max(out_w / w, out_h / h)
    cw, ch = min(w, round(out_w / cover)), min(h, round(out_h / cover))
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    small = _resize(
        rgb[y0 : y0 + ch, x0 : x0 + cw],
        max(1, out_w // _BLUR_SHRINK),
        max(1, out_h // _BLUR_SHRINK),
    )
    small = cv2.GaussianBlur(small, (0, 0), 1.5)
    out = cv2.resize(small, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    out = (out.astype(np.float32) * _BACKGROUND_GAIN).astype(np.uint8)
    fit = min(out_w / w, out_h / h)
    fw, fh = max(1, round(w * fit)), max(1, round(h * fit))
    fx, fy = (out_w - fw) // 2, (out_h - fh) // 2
    out[fy : fy + fh, fx : fx + fw] = _resize(rgb, fw, fh)
    return out
