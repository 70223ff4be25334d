"""Reframing: BlazeFace decoding, face tracks, the virtual camera and the output pictures."""

from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pytest
from conftest import shared_path

from egvs.features.face_detect import _FULL, _SHORT, _anchors, weighted_nms
from egvs.media.picture import Yuv420
from egvs.reframe import (
    CropPath,
    Face,
    FaceDetector,
    FaceTrack,
    apply_crop,
    camera,
    crop_path,
    crop_size,
    detect_track,
    fill_frame,
)
from egvs.reframe.track import face_patches, mouth_activity

W, H = 1280, 720
FPS = 25.0


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


def face(
    cx: float,
    cy: float = 300.0,
    w: float = 120.0,
    *,
    ident: int = 0,
    talk: float = 0.0,
    score: float = 0.9,
) -> Face:
    """A detected face of width ``w`` centred on (cx, cy), keypoints where BlazeFace puts them."""
    h = w
    points = (
        (cx - 0.2 * w, cy - 0.15 * h),
        (cx + 0.2 * w, cy - 0.15 * h),
        (cx, cy),
        (cx, cy + 0.25 * h),
        (cx - 0.45 * w, cy - 0.1 * h),
        (cx + 0.45 * w, cy - 0.1 * h),
    )
    return Face((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), score, points, ident, talk)


def track(per_time, seconds: float = 4.0, fps: float = 5.0, size=(W, H)) -> FaceTrack:
    """A track over [0, seconds) whose faces at time t are ``per_time(t)``."""
    times = np.arange(0, seconds, 1 / fps)
    return FaceTrack(
        0.0, seconds, times, [per_time(t) for t in times], size, np.full((len(times), 2), np.nan)
    )


def contains(box, f: Face) -> bool:
    x, y, w, h = box
    return f.box[0] >= x and f.box[1] >= y and f.box[2] <= x + w and f.box[3] <= y + h


# --- detector ---------------------------------------------------------------------------------


def test_anchor_layout_matches_the_models(detector):
    """The anchors must line up one-to-one with the boxes each model emits."""
    for model, spec in zip(detector.models, (_SHORT, _FULL)):
        out = model.interpreter.get_tensor(model.regressors)
        assert len(_anchors(spec)) == out.shape[1]
    assert len(_anchors(_SHORT)) == 896 and len(_anchors(_FULL)) == 2304


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], dtype=np.float64)
    scores = np.array([0.9, 0.6, 0.7])
    merged = weighted_nms(boxes, scores)
    assert len(merged) == 2
    (first, s1), (second, s2) = merged
    assert s1 == pytest.approx(0.9) and s2 == pytest.approx(0.7)
    assert first[0] == pytest.approx(0.6 / 1.5)  # score-weighted mean of 0 and 1
    np.testing.assert_allclose(second, boxes[2])


@pytest.mark.shared
def test_detector_finds_the_face_in_a_real_frame(detector):
    path = shared_path("videos", "crema_d", "1001_DFA_HAP_XX.flv")
    with av.open(str(path)) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24")
    faces = detector.detect(rgb)
    assert len(faces) == 1
    (x0, y0, x1, y1), f = faces[0].box, faces[0]
    h, w = rgb.shape[:2]
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert 0.15 * w < x1 - x0 < 0.5 * w  # a head-and-shoulders shot
    assert f.score > 0.7
    mx, my = f.mouth
    assert x0 < mx < x1 and (y0 + y1) / 2 < my < y1  # the mouth is in the lower half of the face
    # Boxes are in source pixels whatever the letterboxing: mirrored, or pasted into a bigger
    # frame of another shape, the same face comes back where it was put.
    mirrored = detector.detect(np.ascontiguousarray(rgb[:, ::-1]))
    tol = 0.08 * (x1 - x0)
    assert len(mirrored) == 1
    np.testing.assert_allclose(mirrored[0].box, (w - x1, y0, w - x0, y1), atol=tol)
    canvas = np.full((h + 300, w + 100, 3), 60, np.uint8)
    canvas[250 : 250 + h, 40 : 40 + w] = rgb
    moved = detector.detect(canvas)
    assert len(moved) == 1
    np.testing.assert_allclose(moved[0].box, (x0 + 40, y0 + 250, x1 + 40, y1 + 250), atol=tol)
    # A large frame is first halved (an odd last row or column dropped): scaled up, to an odd
    # size too, the face still comes back where it is.
    for size in ((3 * w, 3 * h), (1297, 973)):
        big = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
        sx, sy = size[0] / w, size[1] / h
        found = detector.detect(big)
        assert len(found) == 1 and found[0].score > 0.7
        expected = (x0 * sx, y0 * sy, x1 * sx, y1 * sy)
        np.testing.assert_allclose(found[0].box, expected, atol=tol * sx)


def test_detector_finds_nothing_in_blank_or_noise(detector):
    rng = np.random.default_rng(0)
    assert detector.detect(np.zeros((360, 640, 3), np.uint8)) == []
    assert detector.detect(np.full((720, 1280, 3), 128, np.uint8)) == []
    assert detector.detect(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)) == []


def test_mouth_activity_sees_the_mouth_not_light_or_stillness():
    rng = np.random.default_rng(1)
    gray = rng.integers(60, 200, (200, 200), dtype=np.uint8)
    f = face(100, 100, 100)
    still = mouth_activity(face_patches(gray, f), face_patches(gray, f))
    brighter = mouth_activity(face_patches(gray, f), face_patches((gray * 0.8).astype(np.uint8), f))
    talking = gray.copy()
    talking[115:140, 80:120] = 255 - talking[115:140, 80:120]  # the mouth region changes
    talk = mouth_activity(face_patches(gray, f), face_patches(talking, f))
    assert still == 0.0
    assert brighter < 0.05
    assert talk > 0.3


# --- virtual camera ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1280, 720), (640, 376), (720, 1280), (480, 360), (333, 333)])
@pytest.mark.parametrize("aspect", [(9, 16), (1, 1), (4, 5), (16, 9)])
def test_crop_has_the_exact_aspect_and_stays_in_the_frame(size, aspect):
    rng = np.random.default_rng(2)
    wander = track(
        lambda t: [face(rng.uniform(0, size[0]), rng.uniform(0, size[1]), 60)], size=size
    )
    path = crop_path(wander, fps=FPS, aspect=aspect, cuts=[1.3])
    cw, ch = crop_size(size, aspect)
    assert cw * aspect[1] == ch * aspect[0]
    assert cw + aspect[0] > size[0] or ch + aspect[1] > size[1]  # the largest such crop
    x, y, w, h = path.boxes.T
    assert (w == cw).all() and (h == ch).all()
    assert (
        (x >= 0).all() and (y >= 0).all() and (x + w <= size[0]).all() and (y + h <= size[1]).all()
    )
    assert len(path.boxes) == round(4.0 * FPS)


def test_crop_size_takes_output_sizes_and_odd_ratios():
    assert crop_size((1280, 720), (1080, 1920)) == (405, 720)  # 9:16
    assert crop_size((1920, 1080), (1, 1)) == (1080, 1080)
    w, h = crop_size((640, 360), (1081, 1920))  # no whole multiple fits: nearest pixels
    assert h == 360 and abs(w / h - 1081 / 1920) < 0.005


def test_still_subject_gives_a_still_crop():
    rng = np.random.default_rng(3)
    jitter = track(lambda t: [face(900 + rng.normal(0, 3), 300 + rng.normal(0, 3))])
    path = crop_path(jitter, fps=FPS)
    assert np.all(path.boxes == path.boxes[0])  # detection noise moves nothing
    assert all(contains(path.boxes[0], f[0]) for f in jitter.faces)


def test_crop_follows_a_moving_subject_with_bounded_speed():
    walk = track(lambda t: [face(200 + 200 * t)], seconds=5.0)  # 200 px/s to the right
    path = crop_path(walk, fps=FPS)
    x = path.boxes[:, 0].astype(float)
    cw = path.boxes[0, 2]
    steps = np.abs(np.diff(x))
    assert steps.max() <= camera.MAX_SPEED * cw / FPS + 1  # a pan, never a catch-up jump
    assert np.abs(np.diff(steps)).max() <= camera.MAX_ACCEL * cw / FPS**2 * 2 + 2  # no lurches
    assert x[-1] > x[0] + 500
    for k in range(len(x)):
        t = k / FPS
        assert contains(path.boxes[k], face(200 + 200 * t)), t


def test_cut_reframes_at_once():
    cut = 2.0
    jump = track(lambda t: [face(200 if t < cut else 1050)])
    path = crop_path(jump, fps=FPS, cuts=[cut])
    k = round(cut * FPS)
    x = path.boxes[:, 0]
    assert contains(path.boxes[k - 1], face(200)) and contains(path.boxes[k], face(1050))
    motion = np.abs(np.diff(x))
    assert np.flatnonzero(motion).tolist() == [k - 1]  # one jump, exactly at the cut
    # Without the cut the same change is a pan, not a jump.
    pan = crop_path(jump, fps=FPS)
    assert np.abs(np.diff(pan.boxes[:, 0])).max() < motion.max() / 3


@pytest.mark.parametrize("speaker_x", [200, 1080])
def test_crop_goes_to_the_speaker(speaker_x):
    other_x = 1280 - speaker_x
    rng = np.random.default_rng(4)

    def faces(t):
        # The silent face is bigger and would win on size alone.
        return [
            face(other_x, w=150, ident=1),
            face(speaker_x, w=100, ident=0, talk=rng.uniform(0.2, 0.4)),
        ]

    dialogue = track(faces, seconds=4.0)
    path = crop_path(dialogue, fps=FPS)
    late = path.boxes[round(1.5 * FPS) :]
    assert all(contains(b, face(speaker_x, w=100)) for b in late)
    # The same mouths while no voice is heard: not speech, so the bigger face wins.
    silent = crop_path(dialogue, fps=FPS, voiced=np.zeros(8))
    assert all(contains(b, face(other_x, w=150)) for b in silent.boxes)


def test_faces_that_fit_are_framed_together():
    pair = track(lambda t: [face(560, w=80, ident=0), face(720, w=80, ident=1)])
    path = crop_path(pair, fps=FPS)
    assert all(contains(b, f) for b in path.boxes[5:] for f in pair.faces[0])


def test_wide_group_without_a_speaker_fills():
    group = track(lambda t: [face(x, w=110, ident=i) for i, x in enumerate((150, 640, 1130))])
    path = crop_path(group, fps=FPS)
    assert path.fill.all() and path.is_fill(1.0) and path.needs_fill
    one = track(lambda t: [face(640)])
    assert not crop_path(one, fps=FPS).needs_fill


def test_without_faces_the_crop_follows_motion_then_centre():
    empty = track(lambda t: [])
    centred = crop_path(empty, fps=FPS)
    assert np.abs(centred.boxes[:, 0] - (W - centred.boxes[0, 2]) / 2).max() <= 0.5
    motion = [(t, 1100.0, 360.0) for t in np.arange(0, 4, 0.5)]
    moved = crop_path(empty, fps=FPS, motion_centres=motion)
    x, _, w, _ = moved.boxes[-1]
    assert x <= 1100 <= x + w and x > centred.boxes[0, 0]


def test_track_saliency_is_followed_when_there_is_no_face():
    empty = track(lambda t: [])
    empty.saliency[:] = (1150.0, 300.0)
    x, _, w, _ = crop_path(empty, fps=FPS).boxes[-1]
    assert x <= 1150 <= x + w


def test_crop_path_round_trips_through_keyframes():
    rng = np.random.default_rng(5)
    busy = track(lambda t: [face(300 + 150 * t + rng.normal(0, 20))], seconds=6.0)
    path = crop_path(busy, fps=FPS, cuts=[3.0])
    data = json.loads(json.dumps(path.to_json()))
    assert len(data["keyframes"]) < len(path.boxes) / 2
    back = CropPath.from_json(data)
    assert np.abs(back.boxes - path.boxes).max() <= 1
    assert (back.fill == path.fill).all()
    assert (
        back.at(4.0) == path.at(4.0) or np.abs(np.subtract(back.at(4.0), path.at(4.0))).max() <= 1
    )
    with pytest.raises(ValueError):
        CropPath.from_json({"format": "other"})


# --- pictures ---------------------------------------------------------------------------------


def test_apply_crop_and_fill_frame_make_output_pictures():
    rgb = np.zeros((720, 1280, 3), np.uint8)
    rgb[:, 640:] = 200
    source = Yuv420.from_rgb(rgb)
    out = apply_crop(source, (600, 0, 405, 720), 270, 480).to_rgb()
    assert out.shape == (480, 270, 3)
    assert out[:, :20].mean() < 10 and out[:, -20:].mean() > 190  # left dark, right bright
    filled = fill_frame(source, 1080, 1920).to_rgb()
    assert filled.shape == (1920, 1080, 3)
    top = (1920 - round(720 * 1080 / 1280)) // 2
    band = filled[top + 5 : 1920 - top - 5]
    assert band[:, :500].mean() < 10 and band[:, -500:].mean() > 190  # the whole frame, sharp
    assert 0 < filled[: top - 5].mean() < 200  # blurred, darkened background above it
    path = CropPath(0.0, FPS, (1280, 720), np.array([[600, 0, 405, 720]]), np.array([True]))
    assert path.render(source, 0.0, 1080, 1920).to_rgb().shape == (1920, 1080, 3)


# --- detect_track on a file ---------------------------------------------------------------------


def write_video(path, frames, fps: int = 25, rotation: int = 0) -> None:
    """H.264 of ``frames``; ``rotation`` goes into the display matrix, as a phone writes it."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())


@pytest.mark.parametrize("rotation", [0, 90])
def test_detect_track_on_a_moving_blob_finds_no_face_and_follows_the_motion(
    tmp_path, detector, rotation
):
    frames = []
    for k in range(50):  # 2 s: a bright disc moving right on a dark background
        rgb = np.full((180, 320, 3), 20, np.uint8)
        cx = 40 + 4 * k
        yy, xx = np.mgrid[:180, :320]
        rgb[(xx - cx) ** 2 + (yy - 90) ** 2 < 15**2] = 230
        frames.append(rgb)
    path = tmp_path / "blob.mp4"
    write_video(path, frames, rotation=rotation)
    got = detect_track(str(path), 0.0, 2.0, fps=5.0, detector=detector)
    np.testing.assert_allclose(got.times, np.arange(0, 2.0, 0.2), atol=0.021)
    assert all(f == [] for f in got.faces)
    assert np.isnan(got.saliency[0]).all()
    along, across = got.saliency[1:].T
    if rotation:  # shown upright: turned a quarter counterclockwise, "right" becomes "up"
        assert got.source_size == (180, 320)
        along, across = 320 - across, along
    else:
        assert got.source_size == (320, 180)
    assert np.isfinite(along).all() and (np.diff(along) > 0).all()  # it moves with the blob
    np.testing.assert_allclose(across, 90, atol=6)
    later = detect_track(str(path), 1.0, 1.9, fps=5.0, detector=detector)  # after a seek
    np.testing.assert_allclose(later.times, [1.0, 1.2, 1.4, 1.6, 1.8], atol=0.021)
    np.testing.assert_allclose(later.saliency[1:], got.saliency[6:10], atol=1.0)


@pytest.mark.shared
def test_detect_track_links_a_real_face_moving_across_the_frame(tmp_path, detector):
    source = shared_path("videos", "crema_d", "1001_DFA_NEU_XX.flv")
    with av.open(str(source)) as container:
        portrait = next(container.decode(video=0)).to_ndarray(format="rgb24")
    frames = []
    for k in range(40):
        canvas = np.full((360, 1280, 3), 90, np.uint8)
        x = 40 + 16 * k
        canvas[:, x : x + 480] = portrait
        frames.append(canvas)
    path = tmp_path / "moving_face.mp4"
    write_video(path, frames)
    got = detect_track(str(path), 0.0, 1.6, fps=5.0, detector=detector)
    assert all(len(f) == 1 for f in got.faces)
    assert len({f[0].track_id for f in got.faces}) == 1  # one person all along
    centres = [f[0].centre[0] for f in got.faces]
    assert (np.diff(centres) > 0).all()
    reframed = crop_path(got, fps=FPS)
    for t, faces in zip(got.times, got.faces):
        assert contains(reframed.at(t), faces[0])


def test_detect_track_finds_the_cut_frame(tmp_path, detector):
    """A hard cut from a blue to an orange scene at frame 40 (1.6 s at 25 fps), read after a seek."""
    frames = [
        np.full((H, W, 3), (30, 60, 200) if k < 40 else (230, 140, 20), np.uint8) for k in range(75)
    ]
    for k, frame in enumerate(frames):  # something moves, so only the cut changes the colours
        frame[20:40, (5 * k) % (W - 20) : (5 * k) % (W - 20) + 20] = 255
    path = tmp_path / "cut.mp4"
    write_video(path, frames)
    cuts = [detect_track(str(path), a, 3.0, detector=detector).cuts for a in (0.0, 1.0, 1.8)]
    assert cuts[0] == pytest.approx([1.6], abs=1e-6)
    assert cuts[1] == pytest.approx([1.6], abs=1e-6)  # after a seek
    assert cuts[2] == []
