"""A virtual camera over a `FaceTrack`: where a fixed-size crop looks on every output frame.

Per detection the camera gets an aim (`_aims`): all the faces that matter when they fit in the
crop together, else the person speaking (mouth moving while there is a voice), else the largest and
most central face; with no face, the motion centre the caller gives or the picture's own change;
else the frame's centre. A group of three or more that does not fit and has no clear speaker makes
its shot a "fill" shot (the whole frame on a blurred background, `egvs.reframe.image.fill_frame`).

Between aims the camera (`_follow`) behaves like an operator: it holds still while the aim stays in
a dead zone (no jitter from detection noise), then pans with limited speed and acceleration, and
jumps at once at a shot cut. Whatever the smoothing, the crop is pushed to keep the aimed faces
inside it, and it never leaves the source frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from egvs.media.picture import Yuv420
from egvs.reframe.image import apply_crop, fill_frame
from egvs.reframe.track import FaceTrack
from egvs.timeline import DEFAULT_STEP

SPEAK_TAU = 0.8  # s: time constant of the smoothed mouth activity
SPEAK_MIN = 0.08  # smoothed mouth activity of someone clearly speaking (CREMA-D speech: 0.15-0.45)
SPEAK_REF = 0.25  # activity that counts as full speech when ranking faces
PRIOR = 0.3  # weight of size and centrality against speech when ranking faces
SWITCH_MARGIN = 0.3  # a new subject must rank this much higher than the current one
MIN_DWELL = 1.0  # s on a subject before the camera may switch to another
SIGNIFICANT = 0.5  # faces at least this fraction of the largest face's width are framed
FIT = 0.9  # faces are framed together when they span at most this fraction of the crop
GROUP = 3  # this many significant faces that do not fit, nobody speaking: fill mode
MARGIN = 0.08  # of a face's width, kept around it inside the crop
HOLD = 1.0  # s a lost face's aim is kept before falling back to motion or the centre
MOTION_REACH = 0.5  # s: a motion centre counts for detections this close to it
DEAD_ZONE = 0.08  # of the crop size: aims closer than this to the camera do not move it
MAX_SPEED = 1.0  # crop widths (or heights) per second
MAX_ACCEL = 3.0  # crop widths per second squared
CATCH_UP = 3.0  # crop widths per second: the fastest the crop moves to keep its subject inside
STEADY = 5  # detections in the running median of aims (1 s at 5 fps)
SETTLE = 0.5  # px: a move ends this close to its aim

Box = tuple[float, float, float, float]


@dataclass
class _Aim:
    centre: tuple[float, float]
    keep: Box | None  # faces (with margin) that must stay inside the crop
    group: bool  # a group that does not fit and has no clear speaker


def crop_size(source_size: tuple[int, int], aspect: tuple[int, int]) -> tuple[int, int]:
    """The largest crop of ``aspect`` inside the source: an exact multiple of the reduced ratio
    (9:16 for 1080x1920) when one fits, else the nearest whole-pixel size.
    """
    width, height = source_size
    div = math.gcd(*aspect)
    aw, ah = aspect[0] // div, aspect[1] // div
    k = min(width // aw, height // ah)
    if k >= 1:
        return aw * k, ah * k
    if width * ah > height * aw:
        return max(1, round(height * aw / ah)), height
    return width, max(1, round(width * ah / aw))


def _grow(box: Box, margin: float, room: tuple[int, int] | None = None) -> Box:
    """``box`` padded by ``margin`` of its width, but no wider or taller than ``room`` allows."""
    x0, y0, x1, y1 = box
    pad_x = pad_y = margin * (x1 - x0)
    if room is not None:
        pad_x = min(pad_x, max(0.0, (room[0] - (x1 - x0)) / 2))
        pad_y = min(pad_y, max(0.0, (room[1] - (y1 - y0)) / 2))
    return x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y


def _union(boxes: Sequence[Box]) -> Box:
    arr = np.array(boxes)
    return (
        float(arr[:, 0].min()),
        float(arr[:, 1].min()),
        float(arr[:, 2].max()),
        float(arr[:, 3].max()),
    )


def _fits(box: Box, size: tuple[int, int], fraction: float = 1.0) -> bool:
    return box[2] - box[0] <= fraction * size[0] and box[3] - box[1] <= fraction * size[1]


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _nearest(samples: np.ndarray, t: float, reach: float) -> tuple[float, float] | None:
    """The (x, y) of the (t, x, y) row nearest ``t`` within ``reach`` seconds, if any."""
    if not len(samples):
        return None
    i = int(np.argmin(np.abs(samples[:, 0] - t)))
    return (float(samples[i, 1]), float(samples[i, 2])) if abs(samples[i, 0] - t) <= reach else None


def _aims(
    track: FaceTrack,
    size: tuple[int, int],
    shots: np.ndarray,
    motion: np.ndarray,
    voice: np.ndarray | None,
    voice_step: float,
) -> list[_Aim]:
    """Where the camera should look at each detection time (see the module docstring)."""
    width, height = track.source_size
    aims: list[_Aim] = []
    speech: dict[int, tuple[float, float]] = {}  # id -> (time, smoothed mouth activity)
    seen: dict[int, int] = {}  # id -> detections of it in this shot
    subject, since = -1, -np.inf
    last_face: tuple[float, _Aim] | None = None
    for i, (t, faces) in enumerate(zip(track.times, track.faces)):
        if i == 0 or shots[i] != shots[i - 1]:
            speech.clear()
            seen.clear()
            subject, last_face = -1, None
        on = 1.0
        if voice is not None:
            on = float(voice[min(max(int(t / voice_step), 0), len(voice) - 1)] > 0.5)
        for face in faces:
            when, level = speech.get(face.track_id, (t, 0.0))
            fade = np.exp(-(t - when) / SPEAK_TAU)
            speech[face.track_id] = (t, fade * level + (1 - fade) * face.mouth_activity * on)
            seen[face.track_id] = seen.get(face.track_id, 0) + 1
        if faces:
            widest = max(f.width for f in faces)

            def rank(face, widest=widest) -> float:
                central = 1 - abs(face.centre[0] - width / 2) / (width / 2)
                prior = 0.5 * face.width / widest + 0.5 * central
                return min(speech[face.track_id][1] / SPEAK_REF, 1.0) + PRIOR * prior

            best = max(faces, key=rank)
            current = next((f for f in faces if f.track_id == subject), None)
            if current is None or (
                t - since >= MIN_DWELL and rank(best) > rank(current) + SWITCH_MARGIN
            ):
                current, subject, since = best, best.track_id, t
            # Others join the framing once seen twice: a one-off detection is often a false one.
            framed = [current] + [
                f
                for f in faces
                if f is not current and f.width >= SIGNIFICANT * widest and seen[f.track_id] > 1
            ]
            together = _union([_grow(f.box, MARGIN) for f in framed])
            own = _grow(current.box, MARGIN, size)
            # Only the subject is kept by force: others joining or leaving must not yank the
            # camera. A face wider than the crop cannot be kept whole: aim at it, keep nothing.
            keep = own if _fits(own, size) else None
            if _fits(together, size, FIT):
                aim = _Aim(_centre(together), keep, False)
            else:
                speaking = speech[subject][1] >= SPEAK_MIN
                aim = _Aim(current.centre, keep, len(framed) >= GROUP and not speaking)
            last_face = (t, aim)
        elif last_face is not None and t - last_face[0] <= HOLD:
            aim = _Aim(last_face[1].centre, None, False)
        else:
            given = _nearest(motion, t, MOTION_REACH)
            change = track.saliency[i]
            if given is not None:
                aim = _Aim(given, None, False)
            elif np.isfinite(change).all():
                aim = _Aim((float(change[0]), float(change[1])), None, False)
            elif aims and shots[i - 1] == shots[i]:
                aim = _Aim(aims[-1].centre, None, False)
            else:
                aim = _Aim((width / 2, height / 2), None, False)
        aims.append(aim)
    return _steady(aims, shots)


def _steady(aims: list[_Aim], shots: np.ndarray) -> list[_Aim]:
    """Aim centres as a running median over STEADY detections of the same shot.

    A face missed or found for a single detection (a blink of the detector) then moves nothing.
    """
    centres = np.array([a.centre for a in aims])
    half = STEADY // 2
    out = []
    for i, aim in enumerate(aims):
        span = np.arange(max(0, i - half), min(len(aims), i + half + 1))
        span = span[shots[span] == shots[i]]
        centre = np.median(centres[span], axis=0)
        out.append(_Aim((float(centre[0]), float(centre[1])), aim.keep, aim.group))
    return out


def _follow(
    targets: np.ndarray,
    keeps: np.ndarray,
    jumps: np.ndarray,
    crop: int,
    extent: int,
    fps: float,
) -> np.ndarray:
    """One axis of the camera: the crop's start (px) per frame following ``targets`` (centres).

    ``keeps`` (n, 2) is the span that must stay inside the crop (NaN: none); ``jumps`` marks the
    frames where a new shot starts and the camera cuts straight to its target.
    """
    dt = 1.0 / fps
    speed, accel = MAX_SPEED * crop, MAX_ACCEL * crop
    dead = DEAD_ZONE * crop
    half = crop / 2
    out = np.empty(len(targets))
    pos = vel = 0.0
    moving = False
    # Aims beyond the reachable range become the frame edge, so the camera brakes into it.
    for k, target in enumerate(np.clip(targets, half, extent - half)):
        if jumps[k]:
            pos, vel, moving = target, 0.0, False
        else:
            error = target - pos
            moving = moving or abs(error) > dead
            if moving:
                # The fastest speed from which the camera still stops on the target, braking
                # within the acceleration limit from the next frame on.
                brake = accel * (np.sqrt(dt * dt + 2 * abs(error) / accel) - dt)
                wanted = np.sign(error) * min(speed, brake)
                vel += float(np.clip(wanted - vel, -accel * dt, accel * dt))
                step = vel * dt
                if abs(error) <= SETTLE or (step * error > 0 and abs(step) >= abs(error)):
                    pos, vel, moving = target, 0.0, False
                else:
                    pos += step
        lo, hi = keeps[k]
        if np.isfinite(lo) and hi - lo <= crop and not jumps[k]:
            # Keep the subject inside, quickly but not in one frame: a new subject is a fast pan.
            inside = float(np.clip(pos, hi - half, lo + half))
            if inside != pos:
                step = float(np.clip(inside - pos, -CATCH_UP * crop * dt, CATCH_UP * crop * dt))
                pos += step
                vel, moving = step / dt, True
        elif np.isfinite(lo) and hi - lo <= crop:
            pos = float(np.clip(pos, hi - half, lo + half))
        pos = float(np.clip(pos, half, extent - half))
        out[k] = pos - half
    return np.clip(np.round(out), 0, extent - crop)


@dataclass
class CropPath:
    """The crop on each output frame: frame ``k`` is at ``start + k / fps`` seconds of the source."""

    start: float
    fps: float
    source_size: tuple[int, int]
    boxes: np.ndarray  # (n, 4) int: x, y, w, h in source pixels
    fill: np.ndarray  # (n,) bool: show the whole frame on a blurred background instead

    FORMAT = "egvs.croppath/1"

    def index(self, t: float) -> int:
        return int(np.clip(np.floor((t - self.start) * self.fps + 0.5), 0, len(self.boxes) - 1))

    def at(self, t: float) -> tuple[int, int, int, int]:
        """The crop (x, y, w, h) shown at source time ``t``."""
        return tuple(int(v) for v in self.boxes[self.index(t)])  # type: ignore[return-value]

    def is_fill(self, t: float) -> bool:
        return bool(self.fill[self.index(t)])

    @property
    def needs_fill(self) -> bool:
        """Most of the span is a group no crop holds: a caller that makes one choice per clip
        should show it whole (`fill_frame`)."""
        return bool(self.fill.mean() > 0.5)

    def render(self, picture: Yuv420, t: float, out_w: int, out_h: int) -> Yuv420:
        """The output picture for the source ``picture`` shown at ``t``."""
        if self.is_fill(t):
            return fill_frame(picture, out_w, out_h)
        return apply_crop(picture, self.at(t), out_w, out_h)

    def keyframes(self, tolerance: float = 0.5) -> list[dict]:
        """The fewest frames whose linear interpolation redraws the path within ``tolerance`` px.

        A new keyframe also starts every run of fill / crop frames, so a cut is two keyframes.
        """
        xy = self.boxes[:, :2].astype(np.float64)
        keep = {0, len(xy) - 1}
        edges = [0, *np.flatnonzero(np.diff(self.fill.astype(np.int8))) + 1, len(xy)]
        for lo, hi in zip(edges[:-1], edges[1:]):
            a = lo
            keep.add(a)
            for b in range(lo + 1, hi):
                span = np.arange(a, b + 1)
                line = xy[a] + (xy[b] - xy[a]) * ((span - a) / (b - a))[:, None]
                if np.abs(line - xy[span]).max() > tolerance:
                    a = b - 1
                    keep.add(a)
            keep.add(hi - 1)
        return [
            {
                "frame": int(k),
                "t": round(self.start + k / self.fps, 4),
                "x": int(self.boxes[k, 0]),
                "y": int(self.boxes[k, 1]),
                "w": int(self.boxes[k, 2]),
                "h": int(self.boxes[k, 3]),
                "fill": bool(self.fill[k]),
            }
            for k in sorted(keep)
        ]

    def to_json(self) -> dict:
        """JSON-ready form for a manifest or an editor timeline (keyframes, not every frame)."""
        return {
            "format": self.FORMAT,
            "start": self.start,
            "fps": self.fps,
            "frames": len(self.boxes),
            "source_size": list(self.source_size),
            "keyframes": self.keyframes(),
        }

    @classmethod
    def from_json(cls, data: dict) -> CropPath:
        """The path `to_json` described (positions within its 0.5 px tolerance, rounded)."""
        if data.get("format") != cls.FORMAT:
            raise ValueError(f"not a crop path ({cls.FORMAT}): {data.get('format')!r}")
        keys = data["keyframes"]
        frames = np.arange(data["frames"])
        at = np.array([k["frame"] for k in keys])
        boxes = np.stack(
            [np.round(np.interp(frames, at, [k[c] for k in keys])) for c in ("x", "y", "w", "h")],
            axis=1,
        ).astype(np.int32)
        fill = np.array([k["fill"] for k in keys])[np.searchsorted(at, frames, side="right") - 1]
        return cls(
            float(data["start"]), float(data["fps"]), tuple(data["source_size"]), boxes, fill
        )


def crop_path(
    track: FaceTrack,
    *,
    source_size: tuple[int, int] | None = None,
    aspect: tuple[int, int] = (9, 16),
    fps: float,
    cuts: Sequence[float] = (),
    motion_centres: Sequence[tuple[float, float, float]] | None = None,
    voiced: np.ndarray | None = None,
    voiced_step: float = DEFAULT_STEP,
) -> CropPath:
    """The virtual camera's crop for every output frame of the track's span at ``fps``.

    ``source_size`` defaults to the track's (upright) frame size; ``cuts`` are shot boundaries in
    seconds; ``motion_centres`` (t, x, y) rows say where to look when there is no face (else the
    track's own frame-difference centres); ``voiced`` is voice activity per ``voiced_step`` from
    time 0 (e.g. ``timeline.signal("voiced")``): mouths that move without a voice do not count as
    speech. Without it, mouth motion alone counts.
    """
    if fps <= 0:
        raise ValueError(f"the output needs a frame rate, not {fps}")
    size_w, size_h = source_size or track.source_size
    if (size_w, size_h) != tuple(track.source_size):
        raise ValueError(f"the track's faces are in a {track.source_size} frame, not {source_size}")
    size = crop_size((size_w, size_h), aspect)
    cuts = sorted(c for c in cuts if track.start < c < track.end)
    motion = np.array(motion_centres if motion_centres is not None else [], dtype=np.float64)
    motion = motion.reshape(-1, 3)
    motion = motion[np.isfinite(motion).all(axis=1)]
    det_shots = np.searchsorted(cuts, track.times, side="right")
    aims = _aims(track, size, det_shots, motion, voiced, voiced_step)

    n = max(1, round((track.end - track.start) * fps))
    times = track.start + np.arange(n) / fps
    shots = np.searchsorted(cuts, times, side="right")
    jumps = np.r_[True, shots[1:] != shots[:-1]]
    targets = np.tile([size_w / 2, size_h / 2], (n, 1)).astype(np.float64)
    keeps = np.full((n, 4), np.nan)
    fill = np.zeros(n, dtype=bool)
    for shot in np.unique(shots):
        frames = shots == shot
        mine = np.flatnonzero(det_shots == shot)
        if not len(mine):
            continue
        det_t = track.times[mine]
        for axis in range(2):
            targets[frames, axis] = np.interp(
                times[frames], det_t, [aims[i].centre[axis] for i in mine]
            )
        # The faces to keep: interpolated between two detections that both have them, else
        # those of the nearest detection.
        after = np.clip(np.searchsorted(det_t, times[frames]), 0, len(mine) - 1)
        before = np.clip(after - 1, 0, len(mine) - 1)
        for k, lo, hi in zip(np.flatnonzero(frames), before, after):
            a, b = aims[mine[lo]].keep, aims[mine[hi]].keep
            if a is not None and b is not None and det_t[hi] > det_t[lo]:
                w = np.clip((times[k] - det_t[lo]) / (det_t[hi] - det_t[lo]), 0, 1)
                keeps[k] = np.add(np.multiply(a, 1 - w), np.multiply(b, w))
            else:
                near = lo if abs(times[k] - det_t[lo]) <= abs(times[k] - det_t[hi]) else hi
                if aims[mine[near]].keep is not None:
                    keeps[k] = aims[mine[near]].keep
        fill[frames] = np.mean([aims[i].group for i in mine]) > 0.5
    x = _follow(targets[:, 0], keeps[:, [0, 2]], jumps, size[0], size_w, fps)
    y = _follow(targets[:, 1], keeps[:, [1, 3]], jumps, size[1], size_h, fps)
    boxes = np.stack([x, y, np.full(n, size[0]), np.full(n, size[1])], axis=1).astype(np.int32)
    return CropPath(float(track.start), float(fps), (size_w, size_h), boxes, fill)
