"""A picture as its YUV 4:2:0 planes, the form decoders give and H.264 encoders take.

The renderer's picture functions (reframing, captions) work on these planes directly: a 720p
source is cropped and scaled without ever becoming RGB, and the 1080x1920 output goes to x264
without an RGB -> YUV conversion; scaling three planes (one at full size, two at a quarter) also
moves half the bytes of scaling RGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import cv2
import numpy as np

from egvs.media.decode import upright

# BT.601 limited range (as decoded and as written): the level of black in Y, of grey in U and V.
BLACK = 16
NEUTRAL_CHROMA = 128


def plane_pixels(plane: av.video.plane.VideoPlane) -> np.ndarray:
    """A writable (height, width) view of one plane of a frame, without its row padding."""
    return np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]


def _scale(plane: np.ndarray, w: int, h: int) -> np.ndarray:
    """INTER_AREA when shrinking (no aliasing), bilinear when enlarging (AREA would be blocky)."""
    if plane.shape[:2] == (h, w):
        return plane
    shrink = w <= plane.shape[1] and h <= plane.shape[0]
    return cv2.resize(plane, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


@dataclass(frozen=True)
class Yuv420:
    """Y at full size, U and V at half width and height, uint8 arrays (views where possible)."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    @classmethod
    def from_frame(cls, frame: av.VideoFrame, rotation: int = 0) -> Yuv420:
        """The planes of a decoded ``frame`` (converted when it is not yuv420p), turned upright by
        ``rotation`` degrees counterclockwise (`MediaInfo.rotation`)."""
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        y, u, v = (upright(plane_pixels(p), rotation) for p in frame.planes)
        return cls(y, u, v)

    @classmethod
    def from_rgb(cls, rgb: np.ndarray) -> Yuv420:
        """An RGB picture (H, W, 3) with even sides in BT.601 limited range."""
        h, w = rgb.shape[:2]
        flat = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420).reshape(-1)
        chroma = (h // 2) * (w // 2)
        return cls(
            flat[: h * w].reshape(h, w),
            flat[h * w : h * w + chroma].reshape(h // 2, w // 2),
            flat[h * w + chroma :].reshape(h // 2, w // 2),
        )

    def to_rgb(self) -> np.ndarray:
        """The picture as RGB (H, W, 3); even sides only."""
        flat = np.concatenate([self.y.ravel(), self.u.ravel(), self.v.ravel()])
        i420 = flat.reshape(self.height * 3 // 2, self.width)
        return cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)

    def to_frame(self) -> av.VideoFrame:
        """A new yuv420p frame holding these planes (even sides)."""
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        for src, dst in zip((self.y, self.u, self.v), frame.planes, strict=True):
            plane_pixels(dst)[:] = src
        return frame

    def crop(self, x: int, y: int, w: int, h: int) -> Yuv420:
        """The box (x, y, w, h) in luma pixels, moved and grown to even numbers so chroma lines
        up; views, no copy."""
        x0, y0 = max(0, x // 2 * 2), max(0, y // 2 * 2)
        x1, y1 = min(self.width, -(-(x + w) // 2) * 2), min(self.height, -(-(y + h) // 2) * 2)
        return Yuv420(
            self.y[y0:y1, x0:x1],
            self.u[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
            self.v[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
        )

    def resize(self, w: int, h: int) -> Yuv420:
        """Scaled to ``w`` x ``h`` (even sides)."""
        return Yuv420(
            _scale(self.y, w, h), _scale(self.u, w // 2, h // 2), _scale(self.v, w // 2, h // 2)
        )

    def dimmed(self, gain: float) -> Yuv420:
        """Darker by ``gain`` in RGB terms: luma towards black, chroma towards grey."""

        def towards(plane: np.ndarray, level: int) -> np.ndarray:
            return ((plane.astype(np.float32) - level) * gain + level + 0.5).astype(np.uint8)

        return Yuv420(
            towards(self.y, BLACK),
            towards(self.u, NEUTRAL_CHROMA),
            towards(self.v, NEUTRAL_CHROMA),
        )

    def pasted(self, other: Yuv420, x: int, y: int) -> Yuv420:
        """A copy with ``other`` laid over it at (x, y) (luma pixels, made even)."""
        x, y = x // 2 * 2, y // 2 * 2
        planes = []
        for mine, theirs, s in ((self.y, other.y, 1), (self.u, other.u, 2), (self.v, other.v, 2)):
            out = np.array(mine, copy=True)
            out[y // s : y // s + theirs.shape[0], x // s : x // s + theirs.shape[1]] = theirs
            planes.append(out)
        return Yuv420(*planes)

    def blended(self, overlay: Yuv420, alpha: np.ndarray, x: int, y: int) -> Yuv420:
        """A copy with ``overlay`` alpha-blended at (x, y) (luma pixels, made even); ``alpha`` is
        (overlay height, width) in [0, 1]. Blending the planes is blending the RGB: the
        conversion is linear. OpenCV's ``blendLinear`` does it in one pass, twice as fast as
        numpy's float arithmetic on a caption burned into every frame of a 1080x1920 short."""
        x, y = x // 2 * 2, y // 2 * 2
        alpha = np.asarray(alpha, np.float32)
        chroma_alpha = _scale(alpha, overlay.u.shape[1], overlay.u.shape[0])
        planes = []
        for mine, theirs, a, s in (
            (self.y, overlay.y, alpha, 1),
            (self.u, overlay.u, chroma_alpha, 2),
            (self.v, overlay.v, chroma_alpha, 2),
        ):
            out = np.array(mine, copy=True)
            h = min(theirs.shape[0], out.shape[0] - y // s)
            w = min(theirs.shape[1], out.shape[1] - x // s)
            if h <= 0 or w <= 0:
                planes.append(out)
                continue
            region = out[y // s : y // s + h, x // s : x // s + w]
            a = np.ascontiguousarray(a[:h, :w])
            region[...] = cv2.blendLinear(
                np.ascontiguousarray(region), np.ascontiguousarray(theirs[:h, :w]), 1.0 - a, a
            )
            planes.append(out)
        return Yuv420(*planes)
