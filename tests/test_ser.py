"""Speech emotion: metrics on hand-made cases, head fitting, log-mel and pooling (no backbone needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from egvs.evaluation.classification import expected_calibration_error, roc_auc
from egvs.ser.classes import CLASSES, VALENCE_CLASSES
from egvs.ser.features import pool, pool_windows
from egvs.ser.head import FRAME_DIM, SerHead, Task, baseline, normalize_groups, softmax
from egvs.ser_training.evaluate import format_table, report, restricted_predictions, score
from egvs.ser_training.fit import fit_logistic, fit_temperature
from egvs.ser_training.labels import Item, read_labels


def items_of(labels: list[str], datasets: list[str], **extra: list[str]) -> list[Item]:
    return [
        Item(Path(f"{i}.flac"), f"s{i}", d, label, **{k: v[i] for k, v in extra.items()})
        for i, (label, d) in enumerate(zip(labels, datasets, strict=True))
    ]


def onehot(names: list[str], p: float = 0.9) -> np.ndarray:
    out = np.full((len(names), len(CLASSES)), (1 - p) / (len(CLASSES) - 1))
    for i, n in enumerate(names):
        out[i, CLASSES.index(n)] = p
    return out


def test_score_hand_made() -> None:
    labels = ["angry", "angry", "angry", "sad", "neutral", "laughing"]
    preds = ["angry", "angry", "sad", "sad", "neutral", "crying"]
    m = score(labels, preds, onehot(preds), np.array([0.9, 0.8, 0.2, 0.1, 0.4, 0.7]))
    assert m["accuracy"] == pytest.approx(4 / 6)
    # recalls: angry 2/3, sad 1, neutral 1, laughing 0 -> mean over the 4 true classes
    assert m["uar"] == pytest.approx((2 / 3 + 1 + 1 + 0) / 4)
    # arousal: high = 3 angry + laughing (3/4 right), low = sad + neutral (2/2 right)
    assert m["arousal_uar"] == pytest.approx((3 / 4 + 1) / 2)
    # ordering: high 0.9, 0.8, 0.2, 0.7 against low 0.1, 0.4 -> 7 of 8 pairs in order
    assert m["arousal_auc"] == pytest.approx(7 / 8)
    # arousal calibration: confidences 0.6 / 0.7 right (0.4, 0.3 off), 0.8 twice half right
    # (0.3 each), 0.9 twice right (0.1 each) -> 1.5 / 6
    assert m["arousal_ece"] == pytest.approx(1.5 / 6)
    assert m["vocalization_recall"] == 0.0
    i = m["classes"].index("angry")
    assert m["confusion"][i][m["classes"].index("sad")] == 1


def test_roc_auc_counts_pairs_in_order_and_ties_half() -> None:
    positive = np.array([True, True, False, False])
    assert roc_auc(np.array([0.9, 0.8, 0.1, 0.2]), positive) == 1.0
    assert roc_auc(np.array([0.1, 0.2, 0.9, 0.8]), positive) == 0.0
    # a whole corpus shifted calm keeps its order: the threshold misses, the ranking does not
    assert roc_auc(np.array([0.3, 0.2, 0.01, 0.02]), positive) == 1.0
    assert roc_auc(np.array([0.5, 0.5, 0.5, 0.1]), positive) == pytest.approx(3 / 4)
    assert np.isnan(roc_auc(np.array([0.5, 0.6]), np.array([True, True])))


def test_predictions_restricted_to_dataset_classes() -> None:
    # the top class (calm) does not occur in dataset "b", so "b" falls back to its best present class
    probs = onehot(["calm", "calm"], 0.5)
    probs[:, CLASSES.index("sad")] = 0.3
    preds = restricted_predictions(probs, ["calm", "sad"], ["a", "b"])
    assert preds == ["calm", "sad"]


def test_report_and_table() -> None:
    labels = ["angry", "sad", "boredom", "neutral", "screaming", "crying"]
    datasets = ["x", "x", "y", "y", "z", "z"]
    result = report(items_of(labels, datasets), onehot(labels))
    assert result["overall"]["accuracy"] == 1.0
    assert set(result["datasets"]) == {"x", "y", "z"}
    assert result["datasets"]["z"]["vocalization_recall"] == 1.0
    assert result["overall"]["arousal_uar"] == 1.0
    assert result["overall"]["arousal_auc"] == 1.0
    table = format_table(result)
    assert "overall" in table and "100.0" in table
    assert "arousal AUC" in table and "1.000" in table


def test_logistic_head_learns_and_roundtrips(tmp_path) -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 4], 50)
    x = rng.normal(size=(100, 6)) + y[:, None] * 0.5
    w, b = fit_logistic(x, y, len(CLASSES), l2=1e-3)
    valence = Task(VALENCE_CLASSES, w[:, :3], b[:3], temperature=2.0)
    head = SerHead(Task(CLASSES, w, b), x.mean(0), x.std(0), valence=valence, meta={"n": 100})
    assert np.mean(head.proba(x).argmax(1) == y) > 0.95
    head.save(tmp_path / "h.npz")
    again = SerHead.load(tmp_path / "h.npz")
    assert again.classes == CLASSES and again.meta == {"n": 100}
    assert again.arousal is None and again.valence.temperature == 2.0
    np.testing.assert_allclose(again.proba(x), head.proba(x), atol=1e-5)
    np.testing.assert_allclose(again.valence.proba(x), valence.proba(x), atol=1e-5)


def test_head_from_before_the_tasks_loads(tmp_path) -> None:
    w, b = np.ones((4, len(CLASSES) - 1)), np.zeros(len(CLASSES) - 1)
    np.savez(tmp_path / "old.npz", classes=np.array(CLASSES[:-1]), weights=w, bias=b,
             mean=np.zeros(4), std=np.ones(4), meta=np.array("{}"))  # fmt: skip
    head = SerHead.load(tmp_path / "old.npz")
    assert head.classes == CLASSES[:-1] and set(head.tasks()) == {"emotion"}


def test_negatives_and_valence_metrics_hand_made() -> None:
    # 4 "other" clips: 2 environmental (kind=negative), 2 nonverbal others (a cough, a sigh)
    labels = ["other", "other", "other", "other", "laughing", "neutral", "", ""]
    kinds = ["negative", "negative", "vocalization", "vocalization", "", "", "speech", "speech"]
    valence = ["", "", "", "", "", "neutral", "positive", "negative"]
    probs = onehot(["other", "laughing", "other", "screaming", "laughing", "neutral",
                    "happy", "sad"], 0.9)  # fmt: skip
    probs[0] = onehot(["other"], 0.4)[0]  # environmental clip 0: P(other) < 0.5, a false voice
    vprobs = np.eye(3)[[1, 1, 1, 1, 2, 1, 2, 1]]  # the last clip's negative voice is missed
    items = items_of(labels, ["x"] * 8, kind=kinds, valence=valence)
    m = report(items, probs, valence=vprobs)["overall"]
    assert m["false_vocalization_rate"] == pytest.approx(2 / 4)  # clips 1 and 3
    assert m["false_voice_rate"] == pytest.approx(2 / 2)  # clip 0 (P 0.4) and clip 1 (laugh)
    assert m["no_voice_n"] == 2 and m["other_n"] == 4
    # valence rows: neutral ok, positive ok, negative missed -> (1 + 1 + 0) / 3
    assert m["valence_uar"] == pytest.approx(2 / 3) and m["valence_n"] == 3
    assert m["vocalization_recall_open"] == 1.0
    assert "false vocal%" in format_table(report(items, probs))


def test_single_class_datasets_are_not_scored_as_a_class_task() -> None:
    items = items_of(["other", "other", "angry", "sad"], ["noise", "noise", "x", "x"])
    result = report(items, onehot(["other", "angry", "angry", "sad"]))
    assert result["datasets"]["noise"]["accuracy"] != result["datasets"]["noise"]["accuracy"]
    assert result["overall"]["accuracy"] == 1.0  # only the two-class dataset's rows


def test_temperature_scaling_calibrates_overconfident_logits() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 2000)
    logits = rng.normal(size=(2000, 3))
    logits[np.arange(2000), y] += 1.0  # ~55% right
    sharp = logits * 6  # same ranking, far too sure
    t = fit_temperature(sharp, y)
    assert 4 < t < 8
    before = expected_calibration_error(softmax(sharp), y)
    after = expected_calibration_error(softmax(sharp / t), y)
    assert after < 0.05 < before


def test_normalize_groups_shrinks_single_clip_speakers() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(5, 2, size=(21, 3))
    groups = np.array(["a"] * 20 + ["b"])
    z = normalize_groups(x, groups, x.mean(0), x.std(0))
    assert np.allclose(z[:20].mean(0), 0, atol=0.1)  # a big group is centred on itself
    assert np.abs(z[20]).max() > 0.05  # a one-clip group is not zeroed out
    gm, gs = baseline(x[:0], np.zeros(3), np.ones(3))  # an empty group: the global baseline
    np.testing.assert_allclose(gm, 0)
    np.testing.assert_allclose(gs, 1, atol=1e-5)


def test_speakers_are_judged_against_their_calm_clips() -> None:
    from egvs.ser_training.train import CALM_BASELINE_SHARE, baseline_weights, norm_groups

    # speaker "a": 2 calm clips and 8 emotional ones; "b": vocal bursts only (no calm clip)
    labels = ["neutral", "calm"] + ["angry"] * 8 + ["laughing"] * 3
    items = [
        Item(Path(f"{i}.flac"), "a" if i < 10 else "b", "d", label)
        for i, label in enumerate(labels)
    ]
    groups = norm_groups(items)
    w = baseline_weights(items, groups)
    assert w[:2].sum() / w[:10].sum() == pytest.approx(CALM_BASELINE_SHARE)
    np.testing.assert_allclose(w[10:], 1.0)  # no calm clip: every clip counts the same
    x = np.array([[0.0]] * 2 + [[10.0]] * 8 + [[3.0]] * 3)
    mean, std = x.mean(0), x.std(0)
    z_calm = normalize_groups(x, groups, mean, std, w)
    z_all = normalize_groups(x, groups, mean, std)
    # against all clips the calm ones sit far below the (mostly angry) average; against the calm
    # baseline a video's calm talk is the centre and the anger stands out
    assert z_all[0, 0] < -1.0 < z_calm[0, 0] < 0.5
    assert z_calm[2, 0] > z_all[2, 0] + 0.5
    np.testing.assert_allclose(z_calm[10:], z_all[10:])


def test_pool_windows_matches_pool() -> None:
    rng = np.random.default_rng(2)
    frames = rng.normal(size=(100, 4)).astype(np.float32)
    vad = rng.uniform(size=100).astype(np.float32)
    out = pool_windows(frames, vad, np.array([50]), 20)
    np.testing.assert_allclose(out[0], pool(frames[30:70], vad[30:70]), atol=1e-4)


def test_read_labels(tmp_path) -> None:
    (tmp_path / "labels.csv").write_text(
        "path,speaker,dataset,emotion,vocalization\na.flac,s1,d,angry,\nb.flac,s2,d,,laughing\nc.flac,s3,d,,\n"
    )
    items = read_labels(tmp_path / "labels.csv")
    assert [it.label for it in items] == ["angry", "laughing"]
    assert items[0].path == tmp_path / "a.flac"


def test_read_labels_extra_columns(tmp_path) -> None:
    (tmp_path / "labels.csv").write_text(
        "path,speaker,dataset,kind,emotion,vocalization,valence,fold,contains_human_voice,class\n"
        "a.opus,s1,d,vocalization,happy,laughing,,,,\n"  # a laugh is a laugh
        "b.opus,s2,d,vocalization,angry,other,,,,\n"  # an angry burst is angry
        "c.opus,s3,d,vocalization,,other,,,,coughing\n"  # a cough is other
        "d.opus,,us,negative,,other,,3,no,\n"  # no speaker: grouped by fold
        "e.opus,,us,negative,,other,,3,yes,\n"  # children playing: not a clean negative
        "f.opus,k1,ko,speech,,,positive,,,\n"  # valence only
        "g.opus,k1,ko,speech,neutral,,neutral,,,\n"
        "h.opus,s4,d,vocalization,,other,,,,Pain\n"  # emotional, but no class of ours
    )
    items = read_labels(tmp_path / "labels.csv")
    assert [it.label for it in items] == ["laughing", "angry", "other", "other", "", "neutral"]
    assert items[3].speaker == "us_fold3" and not items[3].has_voice and items[2].has_voice
    assert [it.valence_target for it in items] == [
        "positive", "negative", "", "", "positive", "neutral"
    ]  # fmt: skip


def test_ased_script_slots_are_sentences_only_where_shared(tmp_path) -> None:
    """ASED numbers each emotion's own sentences 03-07 alike; only 01-02 are one sentence read
    in every emotion, so only those may be one sentence across emotions."""
    from egvs.ser_training.train import content_targets

    (tmp_path / "labels.csv").write_text(
        "path,speaker,dataset,emotion,text_id\n"
        "a.opus,ased_1,ased,angry,ased_s01\n"
        "b.opus,ased_1,ased,sad,ased_s01\n"
        "c.opus,ased_1,ased,angry,ased_s03\n"
        "d.opus,ased_1,ased,sad,ased_s03\n"
        "e.opus,r_1,ravdess,angry,s03\n"  # another corpus's number is its sentence
        "f.opus,r_1,ravdess,sad,s03\n"
    )
    items = read_labels(tmp_path / "labels.csv")
    assert [it.text for it in items] == [
        "ased_s01", "ased_s01", "ased_s03:angry", "ased_s03:sad", "s03", "s03"
    ]  # fmt: skip
    rows, _, n_sentences = content_targets(items)
    assert list(rows) == [0, 1, 4, 5] and n_sentences == 2


def test_default_model_missing_backbone_says_how_to_fix(monkeypatch, tmp_path) -> None:
    from dataclasses import replace

    from egvs.errors import SetupError
    from egvs.model_files import PACKAGED
    from egvs.ser import default_model

    monkeypatch.setenv("EGVS_CACHE_DIR", str(tmp_path))  # nothing built yet
    for name in ("whisper-base-part1", "whisper-base-part2"):
        missing = replace(PACKAGED[name], package=f"egvs_no_such_{name.replace('-', '_')}")
        monkeypatch.setitem(PACKAGED, name, missing)
    with pytest.raises(SetupError, match="pip install"):
        default_model()


def test_trim_encoder_drops_upper_layers() -> None:
    import io
    import struct

    from egvs.ser.backbone import _read_string, _trim_encoder, _write_string

    src = io.BytesIO()
    src.write(struct.pack("I", 6))
    _write_string(src, "WhisperSpec")
    src.write(struct.pack("I", 3))
    names = ["encoder/layer_0/w", "encoder/layer_3/w", "encoder/layer_5/w", "decoder/layer_3/w"]
    src.write(struct.pack("I", len(names)))
    for name in names:
        _write_string(src, name)
        src.write(
            struct.pack("B", 1)
            + struct.pack("I", 2)
            + struct.pack("B", 0)
            + struct.pack("I", 8)
            + b"\0" * 8
        )
    src.write(struct.pack("I", 1))
    _write_string(src, "encoder/layer_4/alias")
    _write_string(src, "encoder/layer_4/w")
    src.seek(0)
    dst = io.BytesIO()
    _trim_encoder(src, dst, keep=3)
    dst.seek(0)
    assert struct.unpack("I", dst.read(4)) == (6,) and _read_string(dst) == "WhisperSpec"
    dst.read(4)
    (n,) = struct.unpack("I", dst.read(4))
    kept = []
    for _ in range(n):
        kept.append(_read_string(dst))
        dst.read(1 + 4 + 1)
        (nb,) = struct.unpack("I", dst.read(4))
        dst.read(nb)
    assert kept == ["encoder/layer_0/w", "decoder/layer_3/w"]
    assert struct.unpack("I", dst.read(4)) == (0,)


@pytest.mark.parametrize("hidden", [0, 16])
def test_fit_head_learns_every_task_and_roundtrips(tmp_path, hidden: int) -> None:
    if hidden:
        pytest.importorskip("torch")
    from egvs.ser_training.train import fit_head, head_outputs

    rng = np.random.default_rng(4)
    labels = ["angry", "neutral", "laughing", "other"]
    items, rows = [], []
    for s in range(6):
        for k, label in enumerate(labels * 10):
            items.append(Item(Path(f"{s}_{k}.flac"), f"spk{s}", "toy", label, kind="speech"))
            centre = np.zeros(8)
            centre[labels.index(label)] = 3.0
            rows.append(centre + rng.normal(size=8) + s)  # each speaker shifted: normalised away
    x = np.array(rows, dtype=np.float32)
    head = fit_head(x, items, hidden=hidden)
    out = head_outputs(head, x, items)
    truth = np.array([CLASSES.index(it.label) for it in items])
    assert np.mean(out["emotion"].argmax(1) == truth) > 0.9
    high = np.array([it.label in ("angry", "laughing") for it in items])
    aroused = out["arousal"][:, 1] > 0.5
    keep = np.array([it.label != "other" for it in items])
    assert np.mean(aroused[keep] == high[keep]) > 0.9
    assert (head.trunk is not None) == bool(hidden)
    head.save(tmp_path / "h.npz")
    again = SerHead.load(tmp_path / "h.npz")
    for name, value in head_outputs(again, x, items).items():
        np.testing.assert_allclose(value, out[name], atol=1e-5)
    np.testing.assert_array_equal(
        fit_head(x, items, hidden=hidden).emotion.weights, head.emotion.weights
    )  # deterministic


def test_load_audio_without_soundfile_falls_back_to_pyav(tmp_path, monkeypatch) -> None:
    import soundfile as sf

    from egvs.ser.audio import load_audio

    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.float32)
    sf.write(tmp_path / "a.wav", tone, 16000)
    monkeypatch.setitem(__import__("sys").modules, "soundfile", None)  # import now fails
    out = load_audio(tmp_path / "a.wav")
    assert len(out) == 16000 and np.abs(out - tone).max() < 1e-3


def test_clip_features_cache_follows_content_not_path_or_mtime(tmp_path, monkeypatch) -> None:
    """A re-staged corpus (new mtimes) or a copy reuses the cached features; new audio does not."""
    import os
    import shutil

    import soundfile as sf

    from egvs.ser_training.train import clip_features

    monkeypatch.setenv("EGVS_CACHE_DIR", str(tmp_path / "cache"))
    calls = []

    class CountingFeaturizer:
        def clip(self, audio):
            calls.append(len(audio))
            return np.full(1024, len(calls), np.float32), None

    rng = np.random.default_rng(0)
    first = tmp_path / "a.flac"
    sf.write(first, rng.normal(0, 0.1, 16000).astype(np.float32), 16000)
    item = Item(first, "spk", "toy", "angry", kind="speech")
    before = clip_features([item], CountingFeaturizer())
    os.utime(first, ns=(1, 1))
    copy = tmp_path / "b.flac"
    shutil.copy(first, copy)
    again = clip_features(
        [item, Item(copy, "spk", "toy", "angry", kind="speech")], CountingFeaturizer()
    )
    assert len(calls) == 1
    np.testing.assert_array_equal(again, np.concatenate([before, before]))
    sf.write(first, rng.normal(0, 0.1, 16000).astype(np.float32), 16000)
    clip_features([item], CountingFeaturizer())
    assert len(calls) == 2
    assert not [
        p for p in (tmp_path / "cache" / "ser-features").iterdir() if p.name.startswith(".")
    ]


def test_class_weights_and_corpus_normalisation_reach_the_fit(monkeypatch) -> None:
    from egvs.ser_training import train

    items = [
        Item(Path(f"{c}/{s}_{k}.flac"), f"{c}_{s}", c, label, kind="speech")
        for c in ("a", "b")
        for s in range(2)
        for k, label in enumerate(["neutral", "laughing", "angry"])
    ]
    fitted = {}

    def by_task(z, y, k, l2, weights):
        fitted[k] = (y, weights)
        return np.zeros((z.shape[1], k)), np.zeros(k)

    monkeypatch.setattr(train, "fit_logistic", by_task)
    monkeypatch.setattr(train, "CLASS_WEIGHTS", {"laughing": 3.0})
    x = np.random.default_rng(0).normal(size=(len(items), 4)).astype(np.float32)
    train.fit_head(x, items, hidden=0)
    y, w = fitted[len(CLASSES)]  # the emotion task: laughs weigh 3x
    laugh = y == CLASSES.index("laughing")
    assert np.allclose(w[laugh], 3 * w[~laugh][0]) and np.allclose(w[~laugh], w[~laugh][0])
    y, w = fitted[len(VALENCE_CLASSES)]  # other tasks are not class-weighted
    assert np.allclose(w, w[0])
    assert train.norm_groups(items)[0] == "a_0"
    monkeypatch.setattr(train, "NORMALISE_WITHIN", "corpus")
    assert list(train.norm_groups(items)) == [it.dataset for it in items]


def test_a_corpus_factor_scales_its_clips_in_every_task(monkeypatch) -> None:
    """`CORPUS_WEIGHTS` (the neutral-only Korean corpus at a tenth, as shipped) scales a corpus's
    clips against another of the same size, in every task and every view."""
    from egvs.ser_training import train

    items = [
        Item(Path(f"{c}/{s}_{k}.flac"), f"{c}_{s}", c, label, kind="speech")
        for c in ("a", "b")
        for s in range(2)
        for k, label in enumerate(["neutral", "sad", "angry"])
    ]
    datasets = np.array([it.dataset for it in items * 2])
    monkeypatch.setattr(train, "CORPUS_WEIGHTS", {"b": 0.1})
    targets = train.training_targets(items, n_views=2)
    assert {"emotion", "arousal"} <= set(targets)
    for rows, _y, weights, _k in targets.values():
        a, b = weights[datasets[rows] == "a"], weights[datasets[rows] == "b"]
        assert len(a) == len(b) > 0 and np.allclose(b, 0.1 * a)


def test_the_noise_bank_key_does_not_depend_on_how_the_labels_path_was_spelled(
    tmp_path, monkeypatch
) -> None:
    """A relative ``--labels ../shared/...`` and an absolute one name the same noise files, so
    they must find the same cached augmented views (a relative path once recomputed all 14k)."""
    from egvs.ser_training.train import noise_bank_key

    (tmp_path / "noise").mkdir()
    names = ["b.wav", "a.wav"]
    monkeypatch.chdir(tmp_path / "noise")
    relative = [Item(Path(f"../noise/{n}"), "urbansound8k_fold3", "us8k", None) for n in names]
    absolute = [Item(tmp_path / "noise" / n, "urbansound8k_fold3", "us8k", None) for n in names]
    assert noise_bank_key(relative) == noise_bank_key(absolute)
    assert noise_bank_key(relative) != noise_bank_key(relative[:1])


def test_the_adversary_reads_only_sentences_read_in_several_emotions() -> None:
    """A sentence read in one emotion names that emotion: the adversary would unlearn the
    emotion itself, so only sentences read in two emotions (or voice sentiments) or more count."""
    from egvs.ser_training.train import content_targets

    items = [
        Item(Path("a/1.flac"), "a_1", "a", "sad", text="s1"),
        Item(Path("a/2.flac"), "a_1", "a", "angry", text="s1"),
        Item(Path("a/3.flac"), "a_1", "a", "angry", text="s2"),  # one emotion only
        Item(Path("b/1.flac"), "b_1", "b", "sad", text="s1"),  # another corpus's "s1"
        Item(Path("c/1.flac"), "c_1", "c", "", "positive", text="t"),
        Item(Path("c/2.flac"), "c_1", "c", "", "negative", text="t"),
        Item(Path("c/3.flac"), "c_1", "c", "neutral"),  # no sentence
    ]
    rows, y, n_sentences = content_targets(items)
    assert list(rows) == [0, 1, 4, 5] and n_sentences == 2
    assert y[0] == y[1] != y[2] == y[3]


def test_the_language_adversary_reads_the_language_of_speech_only(tmp_path) -> None:
    from egvs.ser_training.train import language_targets

    (tmp_path / "labels.csv").write_text(
        "path,speaker,dataset,kind,language,emotion,vocalization\n"
        "a.opus,k_1,k,speech,ko,angry,\n"
        "b.opus,e_1,e,speech,en,sad,\n"
        "c.opus,g_1,g,vocalization,,,laughing\n"  # a laugh has no language
        "d.opus,k_2,k,speech,ko,neutral,\n"
    )
    items = read_labels(tmp_path / "labels.csv")
    assert [it.language for it in items] == ["ko", "en", "", "ko"]
    rows, y, n_languages = language_targets(items)
    assert list(rows) == [0, 1, 3] and n_languages == 2
    assert y[0] == y[2] != y[1]


def test_the_content_adversary_leaves_less_of_the_sentence_in_the_hidden_layer() -> None:
    """Inputs that carry the emotion in some dimensions and the sentence in others: with the
    gradient reversed, a probe reads the sentence from the trained hidden layer less well, the
    emotion as well, and the adversary's output is not part of the head."""
    pytest.importorskip("torch")
    from egvs.ser_training.fit import fit_logistic
    from egvs.ser_training.mlp import fit_mlp

    rng = np.random.default_rng(0)
    n, n_sentences = 1200, 8
    emotion, sentence = rng.integers(0, 2, n), rng.integers(0, n_sentences, n)
    z = rng.normal(size=(n, 24)).astype(np.float32)
    z[:, :4] += 1.5 * emotion[:, None]
    z[:, 4:12] += 2.0 * np.eye(n_sentences)[sentence]
    rows = np.arange(n)
    targets = {
        "emotion": (rows, emotion, np.ones(n), 2),
        "content": (rows, sentence, np.ones(n), n_sentences),
    }
    train, test = rows < 800, rows >= 800

    def probe(hidden: np.ndarray, y: np.ndarray, k: int) -> float:
        w, b = fit_logistic(hidden[train], y[train], k, 1e-2, np.ones(int(train.sum())))
        return float(np.mean((hidden[test] @ w + b).argmax(1) == y[test]))

    read = {}
    for adversary in (None, {"content": 0.3}):
        tasks = targets if adversary else {"emotion": targets["emotion"]}
        (w, b), outputs = fit_mlp(z, tasks, 32, 0, adversary)
        assert set(outputs) == {"emotion"}
        hidden = np.maximum(z @ w + b, 0)
        read[bool(adversary)] = (probe(hidden, sentence, n_sentences), probe(hidden, emotion, 2))
    (sentence_plain, emotion_plain), (sentence_adv, emotion_adv) = read[False], read[True]
    assert sentence_adv < sentence_plain - 0.08, read  # 0.35 against 0.48 (chance 0.125)
    assert emotion_adv > emotion_plain - 0.05, read


def test_an_ensemble_is_one_wider_mlp_whose_logits_are_its_members_mean() -> None:
    pytest.importorskip("torch")
    from egvs.ser_training.mlp import fit_mlp

    rng = np.random.default_rng(1)
    n = 300
    y = rng.integers(0, 3, n)
    z = rng.normal(size=(n, 12)).astype(np.float32)
    z[:, :3] += 1.5 * np.eye(3)[y]
    targets = {"emotion": (np.arange(n), y, np.ones(n), 3)}

    def logits(fitted) -> np.ndarray:
        (w, b), outputs = fitted
        weights, bias = outputs["emotion"]
        return np.maximum(z @ w + b, 0) @ weights + bias

    ensemble = fit_mlp(z, targets, 16, seed=0, members=3)
    assert ensemble[0][0].shape == (12, 48)
    members = [logits(fit_mlp(z, targets, 16, seed=m)) for m in range(3)]  # seeds 100 * 0 + m
    np.testing.assert_allclose(logits(ensemble), np.mean(members, axis=0), atol=1e-4)
    assert not np.allclose(logits(ensemble), members[0], atol=1e-2)
    # A member that reads some columns alone is the MLP trained on them, zero on the others.
    mixed = fit_mlp(z, targets, 16, seed=0, members=2, member_inputs=[slice(None), slice(0, 6)])
    assert mixed[0][0][6:, :16].any() and not mixed[0][0][6:, 16:].any()
    alone = fit_mlp(z[:, :6], targets, 16, seed=1)
    np.testing.assert_allclose(mixed[0][0][:6, 16:], alone[0][0], atol=1e-6)
    (w, b), outputs = alone
    alone_logits = np.maximum(z[:, :6] @ w + b, 0) @ outputs["emotion"][0] + outputs["emotion"][1]
    np.testing.assert_allclose(logits(mixed), (members[0] + alone_logits) / 2, atol=1e-4)


def pooled_speakers(seed: int) -> tuple[list[Item], np.ndarray]:
    """Three speakers' angry and neutral clips with random pooled features (mean, then std)."""
    items = [
        Item(Path(f"{s}_{k}.flac"), f"spk{s}", "toy", label, kind="speech")
        for s in range(3)
        for k, label in enumerate(["angry", "neutral"] * 6)
    ]
    x = np.random.default_rng(seed).normal(size=(len(items), 2 * FRAME_DIM))
    return items, x.astype(np.float32)


def test_a_mean_member_of_a_mean_and_std_head_reads_no_std(monkeypatch) -> None:
    """`MEAN_MEMBERS`: those members' hidden units have zero weights on the std columns; a head
    of no more members than that reads mean + std in all of them."""
    pytest.importorskip("torch")
    from egvs.ser_training import train

    monkeypatch.setattr(train, "ENSEMBLE", 3)
    monkeypatch.setattr(train, "MEAN_MEMBERS", 1)
    items, x = pooled_speakers(3)
    head = train.fit_head(x, items, hidden=4)
    assert head.pooled == "mean+std" and head.meta["mean_members"] == 1
    assert head.trunk is not None and head.trunk[0].shape == (2 * FRAME_DIM, 12)
    std_weights = head.trunk[0][FRAME_DIM:]
    assert std_weights[:, :8].any() and not std_weights[:, 8:].any()
    monkeypatch.setattr(train, "ENSEMBLE", 1)
    single = train.fit_head(x, items, hidden=4)
    assert "mean_members" not in single.meta and single.trunk is not None
    assert single.trunk[0][FRAME_DIM:].any()


def test_a_voice_sentiment_without_an_emotion_is_a_partial_emotion_target(monkeypatch) -> None:
    """Deeply's Korean read speech has a voice sentiment and no emotion class: a positive or
    negative voice becomes "one of these emotions" (`SENTIMENT_EMOTIONS`), a labelled clip keeps
    its class, and a linear head (one class per row) leaves the partial rows out."""
    from egvs.ser.classes import CLASSES
    from egvs.ser_training import train

    monkeypatch.setattr(
        train, "SENTIMENT_EMOTIONS", {"positive": ("happy",), "negative": ("sad", "angry")}
    )
    items = [
        Item(Path("k/1.flac"), "k_1", "k", "neutral", "neutral", kind="speech"),
        Item(Path("k/2.flac"), "k_1", "k", "", "negative", kind="speech"),
        Item(Path("k/3.flac"), "k_1", "k", "", "positive", kind="speech"),
        Item(Path("e/1.flac"), "e_1", "e", "angry", kind="speech"),
    ]
    rows, y, _weights, _k = train.training_targets(items)["emotion"]
    by_row = dict(zip(rows.tolist(), y.tolist(), strict=True))
    k = len(CLASSES)
    assert by_row == {0: CLASSES.index("neutral"), 1: k + 1, 2: k, 3: CLASSES.index("angry")}
    sets = train.emotion_label_sets()
    assert {CLASSES[c] for c in np.flatnonzero(sets[1])} == {"sad", "angry"}
    assert [CLASSES[c] for c in np.flatnonzero(sets[0])] == ["happy"]
    # scoring, calibration and the other tasks see the classes alone
    assert train.task_targets(items)["emotion"][0].tolist() == [0, 3]
    assert set(train.training_targets(items)["arousal"][0].tolist()) == {0, 3}


def test_a_partial_target_raises_its_set_and_leaves_the_choice_within_it() -> None:
    """Rows whose target is a set of classes (`train_mlp`'s ``label_sets``) learn the set's
    total probability: against the same rows without a target, the set's classes gain, and the
    plain rows still learn their one class."""
    pytest.importorskip("torch")
    from egvs.ser_training.mlp import fit_mlp

    rng = np.random.default_rng(2)
    n = 600
    group = rng.integers(0, 4, n)  # 0-2: classes 0-2; 3: a cluster only known as "1 or 2"
    z = rng.normal(size=(n, 8)).astype(np.float32)
    z[:, :4] += 2.0 * np.eye(4)[group]
    known = group < 3
    sets = np.array([[False, True, True]])

    def probabilities(rows: np.ndarray, y: np.ndarray) -> np.ndarray:
        targets = {"emotion": (rows, y, np.ones(len(rows)), 3)}
        (w, b), outputs = fit_mlp(z, targets, 16, seed=0, label_sets={"emotion": sets})
        weights, bias = outputs["emotion"]
        logits = np.maximum(z @ w + b, 0) @ weights + bias
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    without = probabilities(np.flatnonzero(known), group[known])
    everything = np.arange(n)
    with_sets = probabilities(everything, np.where(known, group, 3))  # 3 = set 0
    cluster = group == 3
    assert with_sets[cluster][:, 1:].sum(1).mean() > 0.75  # 0.86; 0.66 without
    assert with_sets[cluster][:, 1:].sum(1).mean() > without[cluster][:, 1:].sum(1).mean() + 0.1
    assert np.mean(with_sets[known].argmax(1) == group[known]) > 0.8


@pytest.mark.parametrize("pooled", ["mean", "mean+std"])
def test_the_head_reads_the_pooled_statistics_it_was_trained_on(monkeypatch, pooled) -> None:
    from egvs.ser_training import train

    monkeypatch.setattr(train, "POOLED", pooled)
    items, x = pooled_speakers(1)
    head = train.fit_head(x, items, hidden=0)
    assert head.pooled == pooled and head.meta["pooled"] == pooled
    assert head.mean.shape == ((FRAME_DIM,) if pooled == "mean" else (2 * FRAME_DIM,))
    other_std = x.copy()
    other_std[:, FRAME_DIM:] = np.random.default_rng(11).normal(size=(len(items), FRAME_DIM))
    same = np.allclose(
        train.head_outputs(head, x, items)["emotion"],
        train.head_outputs(head, other_std, items)["emotion"],
    )
    assert same == (pooled == "mean")  # the std half moves only a head that reads it


def test_a_video_is_scored_with_the_columns_its_head_reads(tmp_path) -> None:
    from egvs.ser.model import WhisperEmotionModel

    rng = np.random.default_rng(2)
    w = rng.normal(size=(FRAME_DIM, len(CLASSES)))
    head = SerHead(
        Task(CLASSES, w, np.zeros(len(CLASSES))),
        np.zeros(FRAME_DIM),
        np.ones(FRAME_DIM),
        meta={"pooled": "mean"},
    )
    head.save(tmp_path / "ser_head.npz")
    model = WhisperEmotionModel(tmp_path / "ser_head.npz")
    feats = rng.normal(size=(40, 2 * FRAME_DIM)).astype(np.float32)
    voiced, speakers = np.ones(40), np.zeros(40, dtype=int)
    out = model.outputs(feats, voiced, speakers, 0.5)["emotion"]
    feats[:, FRAME_DIM:] = rng.normal(size=(40, FRAME_DIM))
    np.testing.assert_allclose(model.outputs(feats, voiced, speakers, 0.5)["emotion"], out)
