"""One validated request: defaults, precedence and errors decided in one place."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from egvs.errors import EgvsError, SetupError
from egvs.request import SummaryRequest
from egvs.scoring import FusionScorer, FusionWeights
from egvs.selection.budget import DEFAULT_RATIO, Budget


def test_defaults() -> None:
    request = SummaryRequest.from_options()
    assert request.budget == Budget(ratio=DEFAULT_RATIO)
    assert request.weights == FusionWeights()
    assert isinstance(request.build_scorer(), FusionScorer)
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.model = Path("x")  # type: ignore[misc]


def test_seconds_win_over_ratio() -> None:
    request = SummaryRequest.from_options(ratio=0.5, duration=60.0)
    assert request.budget == Budget(ratio=None, seconds=60.0)
    assert request.budget.seconds_for(600.0) == 60.0
    assert (request.to_json()["ratio"], request.to_json()["duration"]) == (None, 60.0)


@pytest.mark.parametrize(
    "weights",
    ["emotion=1,visual=0.5", {"emotion": 1, "visual": 0.5}, FusionWeights(emotion=1, visual=0.5)],
)
def test_weights_from_text_mapping_or_object(weights) -> None:
    request = SummaryRequest.from_options(weights=weights)
    assert request.to_json()["weights"] == {
        "emotion": 1.0,
        "events": 0.35,
        "visual": 0.5,
        "faces": 0.5,
    }
    assert request.build_scorer().weights == request.weights


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"ratio": 0.0}, "ratio"),
        ({"ratio": 1.5}, "ratio"),
        ({"duration": float("nan")}, "seconds"),
        ({"weights": "loud=1"}, "bad weight"),
        ({"weights": {"loud": 1.0}}, "unknown fusion weights"),
        ({"weights": {"emotion": 0, "events": 0, "visual": 0}}, "not all zero"),
        ({"weights": "emotion=1", "model": "m"}, "at most one"),
    ],
)
def test_bad_options_are_usage_errors(options: dict, fragment: str) -> None:
    with pytest.raises(EgvsError, match=fragment) as info:
        SummaryRequest.from_options(**options)
    assert info.value.exit_code == 1


def test_a_model_directory_is_checked_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="not an EGVS model"):
        SummaryRequest.from_options(model=tmp_path)


def test_a_custom_scorer_is_used_and_named() -> None:
    scorer = FusionScorer(FusionWeights(visual=1.0, emotion=0.0, events=0.0))
    scorer.name = "mine"
    request = SummaryRequest.from_options(scorer=scorer)
    assert request.build_scorer() is scorer
    assert request.to_json() == {
        "ratio": DEFAULT_RATIO,
        "duration": None,
        "weights": None,
        "scorer": "mine",
        "model": None,
    }
