"""Picture cuts: a frame whose colours differ abruptly from the previous frame's."""

from __future__ import annotations

import av
import cv2
import numpy as np

from egvs.media.picture import Yuv420

CUT_CORRELATION = 0.6  # histogram correlation below this between consecutive frames: a cut
CUT_WIDTH = 160  # pixels across the small upright copy each frame is compared on


class CutFinder:
    """A cut where a frame's hue-saturation histogram differs abruptly from the previous one's.

    Fed every frame, so a cut is found on the cut frame itself.
    """

    def __init__(self) -> None:
        self.previous: np.ndarray | None = None

    def is_cut(self, frame: av.VideoFrame) -> bool:
        hsv = cv2.cvtColor(_small_rgb(frame), cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
        cv2.normalize(hist, hist)
        cut = (
            self.previous is not None
            and cv2.compareHist(self.previous, hist, cv2.HISTCMP_CORREL) < CUT_CORRELATION
        )
        self.previous = hist
        return cut


def _small_rgb(frame: av.VideoFrame) -> np.ndarray:
    """The frame upright (its display matrix), `CUT_WIDTH` wide, as RGB from its YUV planes (a
    third of swscale's cost for a copy every frame gets)."""
    picture = Yuv420.from_frame(frame, round(frame.rotation / 90) % 4 * 90)
    height = max(2, round(CUT_WIDTH * picture.height / picture.width / 2) * 2)
    return picture.resize(CUT_WIDTH, height).to_rgb()
