"""The public API: `extract`, `analyze` and `summarize`. The CLI, the web app and the benchmarks
call these and hold no logic of their own."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from egvs.analysis import SCHEMA, Analysis, Summary
from egvs.cache import FeatureCache, file_digest
from egvs.errors import EgvsError, OutputError, SetupError
from egvs.features.emotion import SpeechEmotionModel
from egvs.media.probe import MediaInfo, probe
from egvs.pipeline import (
    Extractor,
    StageClock,
    build_timeline,
    default_extractors,
    extract_features,
)
from egvs.request import SummaryRequest, Weights
from egvs.scoring import Scorer
from egvs.scoring.aggregate import shot_scores
from egvs.scoring.explain import reasons_for
from egvs.segments import Segment
from egvs.selection import Budget, bridge_gaps, improve_selection, select_segments
from egvs.shots import (
    kts_segments,
    refine_shots,
    snap_edges,
    snap_to_keyframes,
    trim_dead_air,
)
from egvs.timeline import DEFAULT_STEP, TimeGrid, Timeline

if TYPE_CHECKING:
    from egvs.render.video import PictureFn

logger = logging.getLogger("egvs")

__all__ = ["SCHEMA", "Analysis", "Summary", "SummaryRequest", "analyze", "extract", "summarize"]
MIN_SEGMENT = 1.0  # seconds; shorter selected segments only when the budget forces it
MIN_SUMMARY_SECONDS = DEFAULT_STEP  # one timeline step: a shorter summary holds nothing
MAX_SHOT = 8.0  # seconds: longer shots are cut (on the sound) so the knapsack can fill the budget
MAX_VISUAL_SHOT = 60.0  # KTS's longest picture shot


def default_emotion_model() -> SpeechEmotionModel:
    """The trained speech-emotion model; the prosody + YAMNet model only when the trained
    model's optional packages are missing.

    A head the user named in ``$EGVS_SER_HEAD`` must load: otherwise `SetupError` (exit 4) with
    its path, never a silent switch to another model.
    """
    named = os.environ.get("EGVS_SER_HEAD")
    try:
        from egvs.ser import default_model

        return default_model()
    except (ImportError, SetupError) as exc:  # a package of the optional model is missing
        if named and named not in str(exc):
            raise SetupError(f"cannot use the speech-emotion head {named}: {exc}") from exc
        if named:
            raise
        logger.warning("trained speech-emotion model unavailable (%s); using prosody + YAMNet", exc)
    except Exception as exc:
        if named:
            raise SetupError(
                f"cannot load the speech-emotion head {named} ($EGVS_SER_HEAD): {exc}"
            ) from exc
        raise
    from egvs.features.emotion_prosody import ProsodyEmotionModel

    return ProsodyEmotionModel()


def extract(
    path: str | Path,
    *,
    use_cache: bool = True,
    emotion_model: SpeechEmotionModel | None = None,
    extractors: Sequence[Extractor] | None = None,
    clock: StageClock | None = None,
    cache: FeatureCache | None = None,
) -> tuple[MediaInfo, Timeline]:
    """Decode ``path`` once and return its media info and the timeline of every feature source.

    ``extractors`` are the stages that build the timeline (default: `default_extractors`, e.g.
    with another audio tagger in YAMNet's place); ``clock`` collects CPU seconds per stage;
    ``cache`` is the file's `FeatureCache` when the caller has it (else one is opened, on or
    off by ``use_cache``).

    Raises `InputError` (exit code 2) for an input that is missing, not media, corrupt or too
    short, and `SetupError` (4) when a model package is missing.
    """
    clock = clock or StageClock()
    info = probe(path)
    with clock.process("models"):
        model = emotion_model or default_emotion_model()
    extractors = default_extractors() if extractors is None else extractors
    grid = TimeGrid.for_duration(info.duration)
    cache = cache or FeatureCache(file_digest(info.path), enabled=use_cache)
    outputs = extract_features(info, grid, cache, model, clock, extractors)
    return info, build_timeline(info, grid, outputs, model, clock, extractors)


def _request(
    request: SummaryRequest | None,
    ratio: float | None,
    duration: float | None,
    weights: Weights | None,
    model: str | Path | None,
    scorer: Scorer | None,
) -> SummaryRequest:
    """``request`` itself, or one built from the keyword options (never both)."""
    if request is None:
        return SummaryRequest.from_options(
            ratio=ratio, duration=duration, weights=weights, model=model, scorer=scorer
        )
    options = {"ratio": ratio, "duration": duration, "weights": weights, "model": model}
    given = [name for name, value in {**options, "scorer": scorer}.items() if value is not None]
    if given:
        raise EgvsError(f"pass either request or {', '.join(given)}, not both")
    return request


def analyze(
    path: str | Path,
    *,
    ratio: float | None = None,
    duration: float | None = None,
    weights: Weights | None = None,
    model: str | Path | None = None,
    scorer: Scorer | None = None,
    use_cache: bool = True,
    emotion_model: SpeechEmotionModel | None = None,
    request: SummaryRequest | None = None,
) -> Analysis:
    """Find the emotional highlights of ``path`` and choose a summary within the budget.

    The options are those of `SummaryRequest.from_options` (the budget is ``duration`` seconds
    when given, else ``ratio`` of the input, by default 15%); or pass a ready ``request``.

    Raises (each an `egvs.errors.EgvsError`, whose ``exit_code`` the CLI exits with):
    `EgvsError` (1) for bad options, `InputError` (2) for an input that is missing, not media,
    corrupt or too short, `SetupError` (4) for a missing model or package.
    """
    request = _request(request, ratio, duration, weights, model, scorer)
    chosen_scorer = request.build_scorer()  # a bad model fails before any decoding
    info, timeline = extract(path, use_cache=use_cache, emotion_model=emotion_model)
    return plan(info, timeline, request, chosen_scorer)


def plan(info: MediaInfo, timeline: Timeline, request: SummaryRequest, scorer: Scorer) -> Analysis:
    """Score, cut into shots and select: everything after feature extraction (cheap).

    ``scorer`` is ``request.build_scorer()``, built once by the caller.
    """
    warnings: list[str] = []
    importance = np.asarray(scorer.score(timeline), dtype=np.float32)
    budget = request.budget
    target = budget.seconds_for(info.duration)
    if target < MIN_SUMMARY_SECONDS:  # e.g. --ratio 1e-9, or the default ratio of a 3 s clip
        warnings.append(
            f"a {target:.2f} s summary holds nothing; making it {MIN_SUMMARY_SECONDS:g} s"
        )
        logger.warning(warnings[-1])
        budget = Budget(seconds=MIN_SUMMARY_SECONDS)
        target = budget.seconds_for(info.duration)
    if budget.exceeds(info.duration):
        warnings.append(
            f"the budget ({budget.requested(info.duration):.1f} s) is not shorter than the input "
            f"({info.duration:.1f} s); the summary is the whole input"
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
        selected = bridge_gaps(selected, importance, timeline.grid.step, target)
        selected = snap_edges(selected, timeline, info.duration, target)
        selected = trim_dead_air(selected, timeline, info.duration, target)
    for seg in selected:
        seg.reasons = reasons_for(seg, timeline)
    return Analysis(
        info, timeline, importance, shots, selected, budget, scorer.name, warnings, request
    )


def _edges_on_keyframes(analysis: Analysis) -> int:
    """Move the selection's edges onto keyframes up to one timeline step away
    (`snap_to_keyframes`), so smart rendering re-encodes fewer pictures; how many moved."""
    from egvs.render.smart import Keyframes

    before = analysis.segments
    step = analysis.timeline.grid.step
    with Keyframes(analysis.media) as keyframes:
        after = snap_to_keyframes(
            before,
            keyframes.near([t for s in before for t in (s.start, s.end)], step),
            analysis.timeline,
            analysis.media.duration,
            analysis.budget_seconds,
            radius=step,
            one_shot=keyframes.one_shot,
        )
    for seg in after:
        seg.reasons = reasons_for(seg, analysis.timeline)
    analysis.segments = after
    return sum(
        int(a.start != b.start) + int(a.end != b.end) for a, b in zip(before, after, strict=True)
    )


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
    if out.is_dir():  # before the --overwrite hint, which cannot help here
        raise OutputError(f"output {out} is a folder; give a file name")
    if out.exists() and not overwrite:
        raise OutputError(f"output {out} exists; pass --overwrite to replace it")
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

    from egvs.atomic import write_text

    if json_path is not None:
        write_text(json_path, json.dumps(analysis.to_json(), indent=1))
    if plot_path is not None:
        from egvs.export.plot import plot_timeline

        plot_timeline(analysis, Path(plot_path))


def _captions(analysis: Analysis, language: str | None) -> PictureFn:
    """Burned-in captions of the selected segments' speech (only those are transcribed)."""
    from egvs.captions import caption_picture, transcribe

    media = analysis.media
    words = [
        word
        for seg in analysis.segments
        for word in transcribe(media.path, start=seg.start, end=seg.end, language=language).words
    ]
    return caption_picture(words, media.width, media.height)


def summarize(
    path: str | Path,
    output: str | Path,
    *,
    ratio: float | None = None,
    duration: float | None = None,
    weights: Weights | None = None,
    model: str | Path | None = None,
    scorer: Scorer | None = None,
    use_cache: bool = True,
    emotion_model: SpeechEmotionModel | None = None,
    overwrite: bool = False,
    json_path: str | Path | None = None,
    plot_path: str | Path | None = None,
    timeline_path: str | Path | None = None,
    request: SummaryRequest | None = None,
    captions: bool = False,
    language: str | None = None,
    render: str = "auto",
) -> Summary:
    """Analyze ``path`` and render the summary to ``output`` (H.264/AAC in mp4, mov or mkv by
    its extension; HEVC/AAC where smart rendering copies an HEVC source), plus the optional analysis JSON, plot and editor timeline. With ``captions``
    the speech is transcribed (Whisper-base, ``language`` or detected) and burned in.
    ``render`` is "auto" (copy the source's whole GOPs where it allows that exactly, re-encode
    the rest), "copy" (the same, or `InputError` where it cannot) or "encode" (re-encode every
    picture); the way used is recorded in the analysis JSON (``summary.render``).

    Every output is written to a temporary file and moved into place only when complete. Raises
    what `analyze` raises, and `OutputError` (3) for an output that exists without
    ``overwrite``, is the input, is given twice, has an unknown extension or cannot be written;
    every check that needs no decoding runs before any work.
    """
    request = _request(request, ratio, duration, weights, model, scorer)
    from egvs.render.video import RENDER_MODES, container_for

    if render not in RENDER_MODES:
        raise EgvsError(f"render must be one of {', '.join(RENDER_MODES)}, not {render!r}")
    if render == "copy" and captions:
        raise EgvsError("captions are drawn on every picture: use --render auto or encode")
    check_outputs([output, json_path, plot_path, timeline_path], path, overwrite)

    container_for(Path(output))  # an output format EGVS cannot write fails before any work
    if captions:
        from egvs.captions.transcribe import check_language

        check_language(language)
    if timeline_path is not None:
        from egvs.export.timeline import timeline_format

        timeline_format(Path(timeline_path))  # an unknown format fails before any work
    analysis = analyze(path, use_cache=use_cache, emotion_model=emotion_model, request=request)
    from egvs.render.video import copy_refusal, render_summary

    media = analysis.media
    if captions and media.has_video and not media.has_audio:
        analysis.warnings.append("the video has no sound: no captions")
        logger.warning(analysis.warnings[-1])
    picture = (
        _captions(analysis, language) if captions and media.has_video and media.has_audio else None
    )
    moved = 0
    if not copy_refusal(media, render, drawn=picture is not None):
        moved = _edges_on_keyframes(analysis)
    rendered, used, why = render_summary(
        media, analysis.segments, Path(output), render=render, picture=picture
    )
    analysis.render = {"requested": render, "used": used, **({"fallback": why} if why else {})}
    if used == "copy":
        analysis.render["keyframe_edges"] = moved
    write_outputs(analysis, json_path, plot_path)
    if timeline_path is not None:
        from egvs.export.timeline import write_timeline

        write_timeline(analysis.segments, analysis.media, Path(timeline_path))
    return Summary(analysis, Path(output), rendered)
