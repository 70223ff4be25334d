"""The public API: `extract`, `analyze` and `summarize`. The CLI, the web app and the benchmarks
call these and hold no logic of their own."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from egvs.cache import FeatureCache, file_digest
from egvs.errors import OutputError
from egvs.features.emotion import SpeechEmotionModel
from egvs.media.probe import MediaInfo, probe
from egvs.pipeline import build_timeline, extract_features
from egvs.scoring import FusionScorer, FusionWeights, Scorer
from egvs.scoring.aggregate import shot_scores
from egvs.scoring.explain import reasons_for
from egvs.segments import Segment
from egvs.selection import Budget, improve_selection, select_segments
from egvs.shots import kts_segments, refine_shots, snap_edges
from egvs.timeline import TimeGrid, Timeline

logger = logging.getLogger("egvs")

SCHEMA = "egvs.analysis/1"
MIN_SEGMENT = 1.0  # seconds; shorter selected segments only when the budget forces it
MIN_SUMMARY_SECONDS = 0.5  # one timeline step: a shorter summary holds nothing
MAX_SHOT = 8.0  # seconds: longer shots are cut (on the sound) so the knapsack can fill the budget
MAX_VISUAL_SHOT = 60.0  # KTS's longest picture shot


def default_emotion_model() -> SpeechEmotionModel:
    """The trained speech-emotion model when installed, else the prosody + YAMNet model."""
    try:
        from egvs.ser import default_model
    except ImportError:
        default_model = None
    if default_model is not None:
        try:
            return default_model()
        except Exception as exc:  # a broken optional model must not stop a summary
            logger.warning(
                "trained speech-emotion model unavailable (%s); using prosody + YAMNet", exc
            )
    from egvs.features.emotion_prosody import ProsodyEmotionModel

    return ProsodyEmotionModel()


def extract(
    path: str | Path,
    *,
    use_cache: bool = True,
    emotion_model: SpeechEmotionModel | None = None,
) -> tuple[MediaInfo, Timeline]:
    """Decode ``path`` once and return its media info and the timeline of every feature source."""
    info = probe(path)
    model = emotion_model or default_emotion_model()
    grid = TimeGrid.for_duration(info.duration)
    cache = FeatureCache(file_digest(info.path), enabled=use_cache)
    outputs = extract_features(info, grid, cache, model)
    return info, build_timeline(info, grid, outputs, model)


@dataclass
class Analysis:
    """Everything EGVS found in one file and the summary it chose (no video rendered)."""

    media: MediaInfo
    timeline: Timeline
    importance: np.ndarray
    shots: list[Segment]
    segments: list[Segment]
    budget: Budget
    scorer: str = "fusion"
    warnings: list[str] = field(default_factory=list)

    @property
    def budget_seconds(self) -> float:
        return self.budget.seconds_for(self.media.duration)

    @property
    def summary_duration(self) -> float:
        return float(sum(s.duration for s in self.segments))

    def speakers(self) -> list[dict]:
        """The voices told apart in the video: id and seconds of speech, in order of appearance."""
        from egvs.ser.speaker import speaker_summary

        ids = self.timeline.signal("speaker", -1.0).astype(int)
        return speaker_summary(ids, self.timeline.grid.step)

    def to_json(self) -> dict:
        """The versioned public contract (schema ``egvs.analysis/1``; see README)."""
        tl = self.timeline
        rnd = lambda a: [round(float(v), 4) for v in a]  # noqa: E731
        return {
            "schema": SCHEMA,
            "input": {
                "path": str(self.media.path),
                "duration": round(self.media.duration, 3),
                "has_audio": self.media.has_audio,
                "has_video": self.media.has_video,
                "width": self.media.width,
                "height": self.media.height,
                "fps": round(self.media.fps, 3),
            },
            "timeline": {
                "step": tl.grid.step,
                "times": rnd(tl.grid.times),
                "importance": rnd(self.importance),
                "signals": {name: rnd(values) for name, values in sorted(tl.signals.items())},
            },
            "speakers": self.speakers(),
            "shots": [s.to_dict(with_reasons=False) for s in self.shots],
            "summary": {
                "budget": self.budget.to_dict(self.media.duration),
                "duration": round(self.summary_duration, 3),
                "scorer": self.scorer,
                "segments": [s.to_dict() for s in self.segments],
            },
            "warnings": list(self.warnings),
        }


@dataclass
class Summary:
    analysis: Analysis
    output: Path
    duration: float


def _budget(ratio: float | None, duration: float | None) -> Budget:
    try:
        return Budget(ratio=ratio if ratio is not None else 0.15, seconds=duration)
    except ValueError as exc:
        from egvs.errors import EgvsError

        raise EgvsError(str(exc)) from None


def _scorer(
    weights: FusionWeights | dict | None, model: str | Path | None, scorer: Scorer | None
) -> Scorer:
    if scorer is not None:
        return scorer
    if model is not None:
        from egvs.models import load_scorer

        return load_scorer(Path(model))
    if isinstance(weights, dict):
        weights = FusionWeights(**weights)
    return FusionScorer(weights)


def analyze(
    path: str | Path,
    *,
    ratio: float | None = None,
    duration: float | None = None,
    weights: FusionWeights | dict | None = None,
    model: str | Path | None = None,
    scorer: Scorer | None = None,
    use_cache: bool = True,
    emotion_model: SpeechEmotionModel | None = None,
) -> Analysis:
    """Find the emotional highlights of ``path`` and choose a summary within the budget.

    The budget is ``duration`` seconds when given, else ``ratio`` of the input (default 0.15).
    """
    budget = _budget(ratio, duration)
    chosen_scorer = _scorer(weights, model, scorer)
    info, timeline = extract(path, use_cache=use_cache, emotion_model=emotion_model)
    return plan(info, timeline, budget, chosen_scorer)


def plan(info: MediaInfo, timeline: Timeline, budget: Budget, scorer: Scorer) -> Analysis:
    """Score, cut into shots and select: everything after feature extraction (cheap)."""
    warnings: list[str] = []
    importance = np.asarray(scorer.score(timeline), dtype=np.float32)
    target = budget.seconds_for(info.duration)
    if target < MIN_SUMMARY_SECONDS:  # e.g. --ratio 1e-9, or the default ratio of a 3 s clip
        warnings.append(
            f"a {target:.2f} s summary holds nothing; making it {MIN_SUMMARY_SECONDS:g} s"
        )
        logger.warning(warnings[-1])
        budget = Budget(seconds=MIN_SUMMARY_SECONDS)
        target = budget.seconds_for(info.duration)
    if budget.exceeds(info.duration):
        requested = budget.seconds if budget.seconds is not None else budget.ratio * info.duration
        warnings.append(
            f"the budget ({requested:.1f} s) is not shorter than the input ({info.duration:.1f} s); "
            "the summary is the whole input"
        )
        logger.warning(warnings[-1])
    # Shots never longer than a third of the budget, so the knapsack can fill it closely.
    max_shot = float(np.clip(target / 3, 2.0, MAX_SHOT))
    min_len = min(MIN_SEGMENT, target)
    features = timeline.sources["visual"] if info.has_video else timeline.sources["audio"]
    steps = kts_segments(features, min_len=2, max_len=round(MAX_VISUAL_SHOT / timeline.grid.step))
    shots = refine_shots(steps, timeline, info.duration, min_len=min_len, max_len=max_shot)
    shots = shot_scores(shots, importance, timeline)
    if budget.exceeds(info.duration):
        selected = [Segment(0.0, info.duration, float(importance.mean()))]
    else:
        selected = select_segments(shots, target)
        selected = improve_selection(
            selected, importance, timeline.grid.step, info.duration, target
        )
        selected = snap_edges(selected, timeline, info.duration, target)
    for seg in selected:
        seg.reasons = reasons_for(seg, timeline)
    return Analysis(info, timeline, importance, shots, selected, budget, scorer.name, warnings)


def check_output(output: str | Path, input_path: str | Path | None, overwrite: bool) -> Path:
    """Refuse an output path that exists (without overwrite), is the input, or cannot be written."""
    out = Path(output)
    src = Path(input_path) if input_path is not None else None
    if (
        src is not None
        and src.exists()
        and (out.resolve() == src.resolve() or (out.exists() and os.path.samefile(out, src)))
    ):
        raise OutputError(f"output {out} is the input file; choose another path")
    if out.exists() and not overwrite:
        raise OutputError(f"output {out} exists; pass --overwrite to replace it")
    if out.exists() and out.is_dir():
        raise OutputError(f"output {out} is a folder")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"output folder {parent} is not writable")
    return out


def check_outputs(
    outputs: list[str | Path | None], input_path: str | Path | None, overwrite: bool
) -> None:
    """`check_output` for every given output, and no two outputs may be the same file."""
    seen: dict[Path, Path] = {}
    for output in outputs:
        if output is None:
            continue
        out = check_output(output, input_path, overwrite)
        key = out.resolve()
        if key in seen:
            raise OutputError(f"{out} is given for two outputs; give each output its own path")
        seen[key] = out


def write_outputs(
    analysis: Analysis, json_path: str | Path | None, plot_path: str | Path | None
) -> None:
    import json

    from egvs.cache import atomic_write

    if json_path is not None:
        text = json.dumps(analysis.to_json(), indent=1)
        atomic_write(Path(json_path), lambda tmp: tmp.write_text(text))
    if plot_path is not None:
        from egvs.export.plot import plot_timeline

        plot_timeline(analysis, Path(plot_path))


def summarize(
    path: str | Path,
    output: str | Path,
    *,
    ratio: float | None = None,
    duration: float | None = None,
    weights: FusionWeights | dict | None = None,
    model: str | Path | None = None,
    scorer: Scorer | None = None,
    use_cache: bool = True,
    emotion_model: SpeechEmotionModel | None = None,
    overwrite: bool = False,
    json_path: str | Path | None = None,
    plot_path: str | Path | None = None,
    timeline_path: str | Path | None = None,
) -> Summary:
    """Analyze ``path`` and render the summary to ``output`` (H.264/AAC mp4), plus optional files.

    Every output is written to a temporary file and moved into place only when complete.
    """
    check_outputs([output, json_path, plot_path, timeline_path], path, overwrite)
    from egvs.render.video import container_for

    container_for(Path(output))  # an output format EGVS cannot write fails before any work
    if timeline_path is not None:
        from egvs.export.timeline import timeline_format

        timeline_format(Path(timeline_path))  # an unknown format fails before any work
    analysis = analyze(
        path,
        ratio=ratio,
        duration=duration,
        weights=weights,
        model=model,
        scorer=scorer,
        use_cache=use_cache,
        emotion_model=emotion_model,
    )
    from egvs.render.video import render_segments

    rendered = render_segments(analysis.media, analysis.segments, Path(output))
    write_outputs(analysis, json_path, plot_path)
    if timeline_path is not None:
        from egvs.export.timeline import write_timeline

        write_timeline(analysis.segments, analysis.media, Path(timeline_path))
    return Summary(analysis, Path(output), rendered)
