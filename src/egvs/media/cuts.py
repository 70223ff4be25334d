"""Picture cuts: a frame whose colours differ abruptly from the previous frame's."""

from __future__ import annotations

import cv2
import numpy as np

CUT_CORRELATION = 0.6  # histogram correlation below this between consecutive frames: a cut


class CutFinder:
    """A cut where a frame's hue-saturation histogram differs abruptly from the previous one's.

    Fed every frame (small RGB copies), so a cut is found on the cut frame itself.
    """

    def __init__(self) -> None:
        self.previous: np.ndarray | None = None

    def is_cut(self, rgb: np.ndarray) -> bool:
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        hist = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
        cv2.normalize(hist, hist)
        cut = (
            self.previous is not None
            and cv2.compareHist(self.previous, hist, cv2.HISTCMP_CORREL) < CUT_CORRELATION
        )
        self.previous = hist
        return cut
