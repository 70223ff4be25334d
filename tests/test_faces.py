"""Facial expressions: the face reader, the face stage on the analysis grid and its signals."""

from __future__ import annotations

import csv
import logging

import cv2
import numpy as np
import pytest
from conftest import shared_path

from egvs.example import make_video
from egvs.features import faces
from egvs.features.face_detect import Face
from egvs.features.faces import (
    COLUMNS,
    EXPRESSIONS,
    PROBE_EVERY,
    FaceReader,
    FaceStage,
    face_crop,
    face_signals,
    video_faces,
)


@pytest.fixture(scope="module")
def reader() -> FaceReader:
    return FaceReader()


def fer_image(emotion: str, index: int = 0) -> np.ndarray:
    """One FER-2013 public-test picture of ``emotion`` (grey, 48x48)."""
    folder = shared_path("faces", "fer2013_public_test")
    with open(folder / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["emotion"] == emotion]
    return cv2.imread(str(folder / rows[index]["path"]), cv2.IMREAD_GRAYSCALE)


def face_picture(emotion: str = "happy") -> np.ndarray:
    """A FER-2013 face pasted into a larger grey frame, where BlazeFace finds it."""
    for index in range(40):
        face = cv2.resize(fer_image(emotion, index), (160, 160), interpolation=cv2.INTER_CUBIC)
        frame = np.full((360, 640), 128, np.uint8)
        frame[100:260, 240:400] = face
        if FaceReader().read(frame):
            return frame
    pytest.skip(f"no {emotion} FER-2013 picture found by the detector")


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1), np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        np.full((480, 640), 128, np.uint8),  # a grey frame
        np.full((480, 640, 4), 200, np.uint8),  # RGBA
        np.zeros((9000, 12000, 3), np.uint8),  # huge
    ],
    ids=["1px-grey", "1px-rgb", "grey-frame", "rgba", "huge"],
)
def test_pictures_without_faces_give_no_face(reader, image):
    assert reader.read(image) == []


def test_tiny_face_boxes_and_crops_are_classified(reader):
    """A face box of 1 px, or one outside the picture, still gives a 64x64 crop and probabilities."""
    grey = np.full((50, 50), 100, np.uint8)
    for box in [(10.0, 10.0, 11.0, 11.0), (-30.0, -30.0, -10.0, -10.0), (40.0, 40.0, 90.0, 90.0)]:
        crop = face_crop(grey, Face(box, 0.9, ((0.0, 0.0),) * 6))
        assert crop.shape == (64, 64)
    probs = reader.model.classify([np.zeros((1, 1), np.uint8), crop])
    assert probs.shape == (2, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-3)


# --- the stage's probing ----------------------------------------------------------------------


class _FakeReader:
    """Finds a face on the steps in ``with_face``; records which steps were examined."""

    def __init__(self, with_face: set[int]) -> None:
        self.with_face = with_face
        self.examined: list[int] = []

    def read(self, image: np.ndarray) -> list:
        step = int(image[0, 0, 0])
        self.examined.append(step)
        if step not in self.with_face:
            return []
        probs = np.zeros(7, np.float32)
        probs[EXPRESSIONS.index("happy")] = 1.0
        return [faces.FaceExpression(Face((0, 0, 50, 50), 0.8, ((0.0, 0.0),) * 6), probs)]


def run_stage(with_face: set[int], n: int) -> tuple[_FakeReader, np.ndarray]:
    stage = FaceStage.__new__(FaceStage)  # no models: the fake reader stands in
    stage.aspect, stage.rows, stage.pending, stage.tracking = 1.0, {}, [], False
    stage.since_examined, stage.last_row = 0, np.zeros(len(COLUMNS), np.float32)
    fake = _FakeReader(with_face)
    stage.reader = fake  # type: ignore[assignment]
    for step in range(n):
        stage.update(step, np.full((8, 8, 3), step, np.uint8))
    return fake, stage.finish(n)["faces"]


def test_without_faces_only_every_probe_step_is_examined():
    fake, out = run_stage(set(), 40)
    assert fake.examined == list(range(PROBE_EVERY - 1, 40, PROBE_EVERY))
    assert out.shape == (40, len(COLUMNS)) and not out.any()


def test_a_face_found_by_a_probe_is_looked_for_in_the_skipped_steps_too():
    with_face = set(range(9, 20))
    fake, out = run_stage(with_face, 40)
    assert {9, 10, 11} <= set(fake.examined)  # 9 and 10 were skipped, then back-filled
    # While the face is in sight, every other step is examined; the step between keeps the
    # reading (so the step after the face leaves may keep it too).
    assert {12, 14, 16, 18}.isdisjoint(fake.examined) and {13, 15, 17, 19} <= set(fake.examined)
    assert with_face <= set(np.flatnonzero(out[:, 0] > 0)) <= with_face | {20}
    assert (out[list(with_face), 1 + EXPRESSIONS.index("happy")] == 1.0).all()


# --- signals ---------------------------------------------------------------------------------


def test_no_face_means_no_vote_never_a_neutral_vote():
    raw = np.zeros((20, len(COLUMNS)), np.float32)
    raw[10:14, 0] = 0.9
    raw[10:14, 1 + EXPRESSIONS.index("surprise")] = 0.8
    raw[10:14, 1 + EXPRESSIONS.index("neutral")] = 0.2
    sig = face_signals(raw, 0.5)
    assert set(sig) == set(faces.SIGNALS)
    for name, values in sig.items():
        assert values[:7].max() == 0 and values[17:].max() == 0, name
    # Inside, the smoothing averages over the steps with a face only: no dilution by empty steps.
    assert sig["face_surprise"][10:14].min() == pytest.approx(0.8, abs=1e-5)
    assert sig["face_expressiveness"][10:14].min() == pytest.approx(0.8, abs=1e-5)
    assert sig["face_present"][11:13].min() == 1.0 and 0 < sig["face_present"][9] < 1


def test_video_without_faces_has_face_signals_of_zero(tmp_path):
    import egvs

    path = make_video(tmp_path / "pattern.mp4", 6.0)
    _, timeline = egvs.extract(path)
    for name in faces.SIGNALS:
        assert name in timeline.signals
        assert not timeline.signals[name].any(), name


def test_missing_model_package_skips_the_stage_with_a_note(tmp_path, monkeypatch, caplog):
    import egvs
    from egvs.errors import SetupError

    def missing() -> None:
        raise SetupError("the facial-expression model package 'fer' is missing")

    monkeypatch.setattr(faces, "model_path", missing)
    path = make_video(tmp_path / "pattern.mp4", 4.0)
    with caplog.at_level(logging.WARNING, logger="egvs"):
        _, timeline = egvs.extract(path, use_cache=False)
    assert not any(name.startswith("face_") for name in timeline.signals)
    assert "facial expressions skipped" in caplog.text
    assert "visual" in timeline.sources and timeline.signal("motion").shape == (8,)


# --- real faces (shared data) ----------------------------------------------------------------


def test_a_happy_face_reads_happy(reader):
    found = reader.read(face_picture("happy"))
    assert len(found) == 1
    assert EXPRESSIONS[int(np.argmax(found[0].probabilities))] == "happy"
    box = found[0].face.box
    assert 200 < (box[0] + box[2]) / 2 < 440  # in source pixels


def test_crema_d_happy_face_above_neutral_and_neutral_least_expressive():
    """The issue's target on CREMA-D's six 'Don't forget a jacket' clips of actor 1001."""
    folder = shared_path("videos", "crema_d")
    means = {}
    for emotion in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"):
        grid, raw = video_faces(folder / f"1001_DFA_{emotion}_XX.flv")
        sig = face_signals(raw, grid.step)
        assert sig["face_present"].mean() > 0.5, emotion
        means[emotion] = {k: float(v.mean()) for k, v in sig.items()}
    assert means["HAP"]["face_happy"] > means["NEU"]["face_happy"] + 0.3
    neutral = means["NEU"]["face_expressiveness"]
    assert all(neutral < m["face_expressiveness"] for e, m in means.items() if e != "NEU")


# --- egvs face eval / predict ------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    from egvs.cli.main import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_face_eval_on_fer2013_meets_the_targets(capsys, tmp_path):
    """The issue's targets on FER-2013's public test (3,589 images the model never saw)."""
    labels = shared_path("faces", "fer2013_public_test", "labels.csv")
    code, out, _ = run_cli(
        capsys, "face", "eval", "--labels", str(labels), "--json", str(tmp_path / "m.json")
    )
    assert code == 0 and "overall" in out
    import json

    m = json.loads((tmp_path / "m.json").read_text())["overall"]
    assert m["n"] == 3589 and m["classes"] == list(EXPRESSIONS)
    assert m["uar"] >= 0.60 and m["recall"]["happy"] >= 0.85 and m["recall"]["surprise"] >= 0.70
    assert m["uar"] > 3 * m["chance_uar"] and m["accuracy"] > 2 * m["majority_accuracy"]
    assert sum(map(sum, m["confusion"])) == 3589


def test_face_eval_bad_labels_are_bad_input(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\na.png,happy\n")
    code, _, err = run_cli(capsys, "face", "eval", "--labels", str(bad))
    assert code == 2 and "'path' and 'emotion'" in err
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("path,emotion\na.png,bored\n")
    code, _, err = run_cli(capsys, "face", "eval", "--labels", str(unknown))
    assert code == 2 and "'bored'" in err
    missing_image = tmp_path / "missing.csv"
    missing_image.write_text("path,emotion\nnothere.png,happy\n")
    code, _, err = run_cli(capsys, "face", "eval", "--labels", str(missing_image))
    assert code == 2 and "nothere.png" in err
    code, _, err = run_cli(capsys, "face", "eval", "--labels", str(tmp_path / "none.csv"))
    assert code == 2 and "not found" in err


def test_face_predict_image_and_video(capsys, tmp_path):
    import json

    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.full((120, 160), 128, np.uint8))
    code, out, _ = run_cli(capsys, "face", "predict", str(grey), "--json", str(tmp_path / "g.json"))
    assert code == 0 and "no face found" in out
    assert json.loads((tmp_path / "g.json").read_text())["faces"] == []
    video = make_video(tmp_path / "short.mp4", 1.5)  # under the analysis' 2 s minimum
    code, out, _ = run_cli(
        capsys, "face", "predict", str(video), "--json", str(tmp_path / "v.json")
    )
    doc = json.loads((tmp_path / "v.json").read_text())
    assert code == 0 and len(doc["times"]) == 3 and set(doc["signals"]) == set(faces.SIGNALS)
    code, _, err = run_cli(capsys, "face", "predict", str(tmp_path / "nothere.mp4"))
    assert code == 2 and "not found" in err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    code, _, err = run_cli(capsys, "face", "predict", str(broken))
    assert code == 2 and "cannot read" in err


def test_face_predict_finds_a_happy_face(capsys, tmp_path):
    picture = tmp_path / "face.png"
    cv2.imwrite(str(picture), face_picture("happy"))
    code, out, _ = run_cli(capsys, "face", "predict", str(picture))
    assert code == 0 and "happy" in out.splitlines()[1]


def test_face_signals_reach_the_analysis_json_and_the_plot_lane(tmp_path, monkeypatch):
    import egvs
    from egvs.export import plot

    path = make_video(tmp_path / "pattern.mp4", 4.0)
    analysis = egvs.analyze(path)
    signals = analysis.to_json()["timeline"]["signals"]
    assert set(faces.SIGNALS) <= set(signals) and len(signals["face_present"]) == 8
    assert analysis.to_json()["request"]["weights"]["faces"] == 0.5
    figures = []
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "close", figures.append)
    plot.plot_timeline(analysis, tmp_path / "plot.png")
    assert [ax.get_ylabel() for ax in figures[0].axes] == [
        "score",
        "sound events",
        "faces",
        "picture",
    ]
    del analysis.timeline.signals["face_present"]  # audio-only or no face stage: no lane
    plot.plot_timeline(analysis, tmp_path / "plot2.png")
    assert "faces" not in [ax.get_ylabel() for ax in figures[1].axes]
