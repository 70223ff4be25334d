"""What the user asked for, resolved and validated once: the budget, the fusion weights and the
scorer (training-free fusion, a trained model directory, or a custom `Scorer`).

The CLI, the web app and the API all build a `SummaryRequest` with `from_options`, so defaults
("15% of the input"), precedence ("seconds win over ratio") and error messages live here only. The
analysis JSON records it (``"request"``), so a summary can be reproduced from its JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from egvs.errors import EgvsError
from egvs.scoring import FusionScorer, FusionWeights, Scorer
from egvs.scoring.model_config import ExportedModel
from egvs.selection.budget import DEFAULT_RATIO, Budget

Weights = FusionWeights | Mapping[str, float] | str


@dataclass(frozen=True)
class SummaryRequest:
    """A validated request. ``budget.ratio`` is None when a length in seconds was asked for."""

    budget: Budget = field(default_factory=Budget)
    weights: FusionWeights = field(default_factory=FusionWeights)
    model: Path | None = None
    scorer: Scorer | None = field(default=None, compare=False)  # a custom scorer object

    @classmethod
    def from_options(
        cls,
        *,
        ratio: float | None = None,
        duration: float | None = None,
        weights: Weights | None = None,
        model: str | Path | None = None,
        scorer: Scorer | None = None,
    ) -> SummaryRequest:
        """Resolve the user's options; `EgvsError` (exit code 1) names the first bad one.

        ``weights`` is a `FusionWeights`, a mapping or the CLI's ``"emotion=..,events=..,..."``
        text; missing names keep their default. ``model`` (a directory written by
        ``egvs train``) and ``scorer`` replace the fusion, so they exclude ``weights`` and each
        other; a model directory is checked here, before any work (`SetupError`, exit code 4).
        """
        if sum(x is not None for x in (weights, model, scorer)) > 1:
            raise EgvsError("give at most one of weights, a trained model and a custom scorer")
        try:
            budget = Budget(
                ratio=None if duration is not None else (DEFAULT_RATIO if ratio is None else ratio),
                seconds=duration,
            )
            fusion = _weights(weights)
        except (TypeError, ValueError) as exc:
            raise EgvsError(str(exc)) from None
        if model is not None:
            model = Path(model)
            ExportedModel.load(model)
        return cls(budget, fusion, model, scorer)

    def build_scorer(self) -> Scorer:
        """The scorer this request names (a trained model is loaded here, once per call)."""
        if self.scorer is not None:
            return self.scorer
        if self.model is not None:
            from egvs.scoring.onnx import load_scorer

            return load_scorer(self.model)
        return FusionScorer(self.weights)

    def to_json(self) -> dict:
        """The ``"request"`` field of the analysis JSON."""
        return {"ratio": self.budget.ratio, "duration": self.budget.seconds, **self.scorer_json()}

    def scorer_json(self) -> dict:
        """The scorer alone (``shorts.json`` records it; shorts have no budget)."""
        fusion = self.scorer is None and self.model is None
        custom = self.scorer.name if self.scorer is not None else None
        return {
            "weights": asdict(self.weights) if fusion else None,
            "scorer": custom or ("fusion" if fusion else "model"),
            "model": None if self.model is None else str(self.model),
        }


def _weights(weights: Weights | None) -> FusionWeights:
    if weights is None:
        return FusionWeights()
    if isinstance(weights, FusionWeights):
        return weights
    if isinstance(weights, str):
        return FusionWeights.parse(weights)
    unknown = set(weights) - set(FusionWeights.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown fusion weights {sorted(unknown)}: use emotion, events, visual")
    return FusionWeights(**{name: float(value) for name, value in weights.items()})
