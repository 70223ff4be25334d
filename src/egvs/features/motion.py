"""Motion features from dense optical flow (OpenCV Farneback): the "motion stream".

For each step, flow is computed between the sampled frame and the frame decoded right after it, on
small grey frames, and scaled to widths per second so it is comparable across resolutions and
frame rates. A frame difference to the previous step's frame catches cuts and flashes.
"""

from __future__ import annotations

import cv2
import numpy as np

from egvs.media.decode import VideoSample

MOTION_FEATURES = (
    "flow_mean",
    "flow_p90",
    "moving_fraction",
    "camera_motion",
    "local_motion",
    "frame_diff",
)


class MotionAnalyzer:
    """Per-step motion descriptors (see `MOTION_FEATURES`), one `update` per `VideoSample`."""

    name = "motion"

    def __init__(self) -> None:
        self._previous: np.ndarray | None = None

    @staticmethod
    def config() -> dict:
        return {"method": "farneback", "features": list(MOTION_FEATURES)}

    def update(self, sample: VideoSample) -> np.ndarray:
        gray = sample.gray
        width = gray.shape[1]
        out = np.zeros(len(MOTION_FEATURES), dtype=np.float32)
        if sample.next_gray is not None and sample.next_gray.shape == gray.shape:
            flow = cv2.calcOpticalFlowFarneback(
                gray, sample.next_gray, None, 0.5, 3, 15, 3, 5, 1.2, 0
            )
            flow *= 1.0 / (width * max(sample.next_dt, 1e-3))  # widths per second
            mag = np.hypot(flow[..., 0], flow[..., 1])
            camera = np.hypot(*np.median(flow.reshape(-1, 2), axis=0))
            out[0] = mag.mean()
            out[1] = np.percentile(mag, 90)
            out[2] = (mag > 0.05).mean()
            out[3] = camera
            out[4] = np.abs(mag - camera).mean()
        if self._previous is not None and self._previous.shape == gray.shape:
            out[5] = np.abs(gray.astype(np.int16) - self._previous).mean() / 255.0
        self._previous = gray.astype(np.int16)
        return out
