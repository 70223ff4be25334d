"""Dataset recipes and split files: made-up files in the real formats, then the real annotations."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from conftest import shared_path
from scipy.io import loadmat, savemat

from egvs.datasets import load_annotations
from egvs.datasets.splits import kfold_splits, load_splits
from egvs.errors import InputError
from egvs.evaluation import from_annotations


def test_tvsum_tsv_parses_users_per_video(tmp_path) -> None:
    tsv = tmp_path / "anno.tsv.gz"
    with gzip.open(tsv, "wt") as fh:
        fh.write("vidA\tVT\t1,2,3\nvidA\tVT\t3,3,1\nvidB\tGA\t5,5,5,5\n")
    info = tmp_path / "info.tsv"
    info.write_text("video_id\tnframes\tlength_sec\ttitle\nvidA\t3\t0.1\tA\nvidB\t4\t0.2\tB\n")
    videos = load_annotations("tvsum", tsv, info)
    assert [v.name for v in videos] == ["vidA", "vidB"]
    assert videos[0].user_scores.tolist() == [[1, 2, 3], [3, 3, 1]]
    assert videos[0].fps == pytest.approx(30.0) and videos[1].fps == pytest.approx(20.0)
    assert videos[1].category == "GA" and videos[1].title == "B"
    with pytest.raises(InputError, match="frame rate"):
        from_annotations(load_annotations("tvsum", tsv), "mean")  # no info: fps unknown


def test_summe_mat_nonzero_user_score_is_selected(tmp_path) -> None:
    user_score = np.array([[0, 2], [1, 2], [1, 0], [0, 0]], dtype=np.uint8)  # (frames, users)
    savemat(tmp_path / "b video.mat", {"user_score": user_score, "FPS": 25.0})
    savemat(tmp_path / "A video.mat", {"user_score": user_score[:, :1], "FPS": 30.0})
    videos = load_annotations("summe", tmp_path)
    assert [v.name for v in videos] == ["A video", "b video"]  # case-insensitive order
    assert videos[1].user_summary.tolist() == [
        [False, True, True, False],
        [True, True, False, False],
    ]
    assert videos[1].fps == 25.0 and videos[1].n_users == 2
    with pytest.raises(InputError):
        load_annotations("summe", tmp_path / "missing")


def test_kfold_splits_are_disjoint_covering_and_deterministic() -> None:
    keys = [f"video_{i}" for i in range(1, 26)]
    splits = kfold_splits(keys, k=5, seed=0)
    tested = [k for s in splits for k in s["test_keys"]]
    assert sorted(tested) == sorted(keys)  # every video tested exactly once
    for s in splits:
        assert len(s["test_keys"]) == 5 and not set(s["train_keys"]) & set(s["test_keys"])
        assert len(s["train_keys"]) == 20
    assert splits == kfold_splits(list(reversed(keys)), k=5, seed=0)
    assert splits != kfold_splits(keys, k=5, seed=1)
    assert [len(s["test_keys"]) for s in kfold_splits(keys[:7], k=3)] == [3, 2, 2]


def test_load_splits_strips_the_h5_prefix_of_its_own_dataset(tmp_path) -> None:
    path = tmp_path / "tvsum_aug.json"
    split = {
        "train_keys": [
            "eccv16_dataset_tvsum_google_pool5/video_2",
            "eccv16_dataset_ovp_google_pool5/video_3",
        ],
        "test_keys": ["eccv16_dataset_tvsum_google_pool5/video_1"],
    }
    path.write_text(json.dumps([split]))
    assert load_splits(path) == [
        {"train_keys": ["video_2", "ovp/video_3"], "test_keys": ["video_1"]}
    ]
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError):
        load_splits(tmp_path / "bad.json")


@pytest.mark.shared
def test_real_tvsum_mat_and_tsv_agree() -> None:
    mat = load_annotations("tvsum", shared_path("vsumm", "tvsum", "ydata-tvsum50.mat"))
    tsv = load_annotations(
        "tvsum",
        shared_path("vsumm", "tvsum", "ydata-anno.tsv.gz"),
        shared_path("vsumm", "tvsum", "tvsum50_info_derived_from_mat.tsv"),
    )
    assert len(mat) == 50 and [v.name for v in mat] == [v.name for v in tsv]
    first = mat[0]
    assert (first.name, first.n_frames, first.n_users) == ("AwmHb44_ouw", 10597, 20)
    assert first.fps == pytest.approx(10597 / 353.593)
    assert set(np.unique(first.user_scores)) <= {1, 2, 3, 4, 5}
    for a, b in zip(mat, tsv, strict=True):
        np.testing.assert_array_equal(a.user_scores, b.user_scores)
        assert a.fps == pytest.approx(b.fps, rel=1e-4) and a.category == b.category


@pytest.mark.shared
def test_real_summe_matches_its_gt_score_and_dsnet_labels() -> None:
    gt = shared_path("vsumm", "summe", "GT")
    videos = load_annotations("summe", gt)
    assert len(videos) == 25 and videos[0].name == "Air_Force_One"
    assert all(15 <= v.n_users <= 18 for v in videos)
    for v in videos:
        gt_score = loadmat(gt / f"{v.name}.mat")["gt_score"].ravel()
        np.testing.assert_allclose(v.user_summary.mean(axis=0), gt_score)
    label = json.loads(
        shared_path("vsumm", "summe", "dsnet_custom_labels", "St Maarten Landing.json").read_text()
    )
    landing = next(v for v in videos if v.name == "St Maarten Landing")
    np.testing.assert_array_equal(landing.user_summary, np.asarray(label["user_summary"], bool))


@pytest.mark.shared
@pytest.mark.parametrize("ds,n", [("tvsum", 50), ("summe", 25)])
def test_real_split_files_load_to_bare_keys(ds: str, n: int) -> None:
    root = shared_path("vsumm", "splits")
    for path in [
        root / "vasnet" / f"{ds}_splits.json",
        root / "dsnet" / f"{ds}.yml",
        root / "pglsum_casum" / f"{ds}_splits.json",
    ]:
        splits = load_splits(path)
        assert len(splits) == 5
        for s in splits:
            assert len(s["test_keys"]) == n // 5 and len(s["train_keys"]) == n - n // 5
            assert all(k.startswith("video_") for k in s["train_keys"] + s["test_keys"])
    disjoint = load_splits(root / "msva" / f"{ds}_random_non_overlap_splits.json")
    assert sorted(k for s in disjoint for k in s["test_keys"]) == sorted(
        f"video_{i}" for i in range(1, n + 1)
    )
    aug = load_splits(root / "vasnet" / f"{ds}_aug_splits.json")
    assert any("/" in k for k in aug[0]["train_keys"]) and all(
        "/" not in k for k in aug[0]["test_keys"]
    )
