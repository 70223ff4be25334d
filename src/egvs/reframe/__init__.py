"""Reframing that follows people: faces over a span, a virtual camera, and the output pixels.

``detect_track`` finds and links faces a few times a second and finds the shot cuts,
``crop_path`` turns them into a smooth crop per output frame (or "fill" for group shots),
``CropPath.render`` / ``apply_crop`` / ``fill_frame`` make the pictures (YUV planes,
`egvs.media.picture.Yuv420`).
"""

from egvs.features.face_detect import Face, FaceDetector
from egvs.reframe.camera import CropPath, crop_path, crop_size
from egvs.reframe.image import apply_crop, fill_frame
from egvs.reframe.track import FaceTrack, detect_track, sample_frames

__all__ = [
    "CropPath",
    "Face",
    "FaceDetector",
    "FaceTrack",
    "apply_crop",
    "crop_path",
    "crop_size",
    "detect_track",
    "fill_frame",
    "sample_frames",
]
