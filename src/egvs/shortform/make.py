"""`egvs.shorts`: several vertical, captioned, stand-alone clips from one long video.

On the same cached features and importance scorer as `summarize` (but no montage is chosen):
clips are chosen around emotional peaks (`egvs.shortform.select`), their edges moved onto
sentence boundaries with Whisper's word times, each clip reframed by a virtual camera that follows
faces (`egvs.reframe`), captions burned in (`egvs.captions`), and a manifest ``shorts.json``
(schema ``egvs.shorts/1``) lists them all.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from egvs.errors import EgvsError, InputError, OutputError
from egvs.progress import logger
from egvs.segments import Segment
from egvs.shortform import spans
from egvs.shortform.options import ShortsOptions
from egvs.shortform.select import SCORE_WEIGHTS, Clip, choose_clips
from egvs.shortform.words import fit_to_words

if TYPE_CHECKING:
    from egvs.cache import FeatureCache
    from egvs.media.picture import Yuv420
    from egvs.media.probe import MediaInfo
    from egvs.render.video import PictureFn
    from egvs.request import SummaryRequest
    from egvs.timeline import Timeline

SCHEMA = "egvs.shorts/1"
CONTEXT_SECONDS = 3.0  # transcribed beyond each edge, so an edge can move to a sentence boundary
MANIFEST = "shorts.json"
# What a run writes beside the manifest: NN-<slug>.mp4 and its .srt, .vtt and .otio.
CLIP_FILE = re.compile(r"\d{2,}-.*\.(mp4|srt|vtt|otio)")
REPEAT_SHARE = 0.5  # of a clip's word triples said in a better clip: the same passage again
# No one speaks in a span where the analysis' voiced signal stays under the first and YAMNet's
# speech under the second at every step (its 99th percentile over the steps that are not voiced
# is 0.22, on the shorts benchmark's file): such a span is not transcribed (1 CPU-s per 26 s).
SILENT_SPAN = (0.05, 0.2)


@dataclass
class Short:
    """One rendered clip and what it was made from."""

    rank: int
    clip: Clip
    files: dict[str, Path]
    transcript: str = ""
    language: str | None = None
    crop: dict = field(default_factory=dict)
    words: list = field(default_factory=list)  # egvs.captions.Word, source times

    def to_json(self, manifest_folder: Path) -> dict:
        """The manifest's entry; file paths relative to the manifest's folder."""
        return {
            "rank": self.rank,
            "start": round(self.clip.start, 3),
            "end": round(self.clip.end, 3),
            "duration": round(self.clip.duration, 3),
            "peak": round(self.clip.peak, 3),
            "score": round(self.clip.score, 4),
            "components": {k: round(v, 4) for k, v in self.clip.components.items()},
            "reasons": list(self.clip.reasons),
            "transcript": self.transcript,
            "language": self.language,
            "crop": self.crop,
            "files": {kind: os.path.relpath(p, manifest_folder) for kind, p in self.files.items()},
        }


@dataclass
class Shorts:
    """The result of `egvs.shorts`: the clips, best first, where the manifest is, and what they
    were chosen from (the input, its feature timeline and importance curve, the options)."""

    media: MediaInfo
    timeline: Timeline
    importance: np.ndarray
    options: ShortsOptions
    folder: Path
    clips: list[Short]
    manifest: Path
    warnings: list[str] = field(default_factory=list)


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe slug of the first words (letters of any script kept)."""
    text = unicodedata.normalize("NFKC", text).lower()
    words = re.findall(r"\w+", text)
    out = ""
    for w in words:
        if len(out) + len(w) + 1 > limit:
            break
        out = f"{out}-{w}" if out else w
    return out or "clip"


def _check_folder(folder: Path, overwrite: bool) -> None:
    """Before any work: the folder (or its parent) can be written, and without ``overwrite`` it
    holds nothing a run could write: no manifest and no file named like a clip (the clips'
    names come from their speech, known only later)."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output {folder} is a file; shorts need a folder")
    parent = folder.parent if str(folder.parent) else Path(".")
    if not folder.exists() and not parent.is_dir():
        raise OutputError(f"output folder {parent} does not exist")
    target = folder if folder.exists() else parent
    try:  # a real file, not os.access: root passes that on a read-only folder
        tempfile.TemporaryFile(dir=target).close()
    except OSError:
        raise OutputError(f"output folder {target} is not writable") from None
    if overwrite or not folder.exists():
        return
    if (folder / MANIFEST).exists():
        raise OutputError(f"{folder} already holds shorts; pass --overwrite to replace them")
    named_like_clips = sorted(p.name for p in folder.iterdir() if CLIP_FILE.fullmatch(p.name))
    if named_like_clips:
        raise OutputError(
            f"{folder} holds {named_like_clips[0]}, named like a clip a run writes; "
            "pass --overwrite to replace such files, or choose another folder"
        )


def shorts(
    path: str | Path,
    folder: str | Path,
    *,
    options: ShortsOptions | None = None,
    count: int | None = None,
    length: str | tuple[float, float] | None = None,
    aspect: str | None = None,
    captions: bool | None = None,
    language: str | None = None,
    fill: bool | None = None,
    timeline: bool | None = None,
    json_path: str | Path | None = None,
    overwrite: bool = False,
    use_cache: bool = True,
    weights: str | dict | None = None,
    model: str | Path | None = None,
    emotion_model=None,
    request: SummaryRequest | None = None,
) -> Shorts:
    """Cut ranked shorts from ``path`` into ``folder``, as ``options`` (a `ShortsOptions`) asks:
    by default 5 clips of 15-60 s at 9:16 with captions.

    Instead of ``options``, its fields may be given one by one (``count``, ``length``, ``aspect``,
    ``captions``, ``language``, ``fill``, ``timeline``; see `ShortsOptions.from_options`).
    Each clip is ``folder/NN-<slug>.mp4`` (H.264/AAC at the ``aspect``'s size) with ``.srt`` and
    ``.vtt`` captions, and, with ``timeline``, an ``.otio`` holding the crop. ``shorts.json`` (or
    ``json_path``) lists them; with ``overwrite``, the files an earlier manifest there listed are
    replaced, not left beside the new ones. Importance is scored as in `egvs.analyze` by
    ``weights``/``model``, or by the scorer of ``request`` (a `SummaryRequest`, whose budget is
    not used: no montage is chosen). Raises `InputError` (exit 2) for unreadable input or one
    without a picture, `OutputError` (exit 3) for an unusable folder, `EgvsError` (exit 1) for
    bad options.
    """
    from egvs.api import check_output, extract
    from egvs.cache import FeatureCache, file_digest
    from egvs.media.probe import probe
    from egvs.request import SummaryRequest

    given: dict[str, Any] = {
        "count": count,
        "length": length,
        "aspect": aspect,
        "captions": captions,
        "language": language,
        "fill": fill,
        "timeline": timeline,
    }
    given = {name: value for name, value in given.items() if value is not None}
    if options is None:
        options = ShortsOptions.from_options(**given)
    elif given:
        raise EgvsError(f"pass either options or {', '.join(given)}, not both")
    if request is None:
        request = SummaryRequest.from_options(weights=weights, model=model)
    elif weights is not None or model is not None:
        raise EgvsError("pass either request or weights and model, not both")
    if options.captions:
        from egvs.captions.transcribe import check_language

        check_language(options.language)
    folder = Path(folder)
    _check_folder(folder, overwrite)
    if json_path is not None:
        check_output(json_path, path, overwrite)
    media = probe(path)
    if not media.has_video:  # before the features, which would work on sound alone
        raise InputError(f"{path} has no picture; shorts need a video")
    warnings: list[str] = []
    if options.captions and not media.has_audio:
        warnings.append("the video has no sound: no captions")
        logger.warning(warnings[-1])
        options = dataclasses.replace(options, captions=False)
    scorer = request.build_scorer()  # a bad model fails before any decoding
    # One cache for the file's features and for each clip's words and faces (`spans`).
    cache = FeatureCache(file_digest(media.path), enabled=use_cache)
    info, features = extract(path, cache=cache, emotion_model=emotion_model)
    importance = np.asarray(scorer.score(features), dtype=np.float32)
    count, length = options.count, options.length
    # With captions, spare candidates replace clips whose speech repeats a better clip's.
    spare = count if options.captions else 0
    clips = choose_clips(features, importance, info.duration, count=count + spare, length=length)
    manifest = Path(json_path) if json_path is not None else folder / MANIFEST
    folder.mkdir(exist_ok=True)
    _remove_listed(manifest, folder)
    made: list[Short] = []
    try:
        for clip in clips:
            if len(made) == count:
                break
            words, spoken = _speech(info, features, clip, options, cache)
            if any(repeats(words, short.words) for short in made):
                logger.info(
                    "skipping %.1f-%.1f s: its speech repeats a chosen clip", clip.start, clip.end
                )
                continue
            made.append(
                _make_one(
                    info, features, clip, len(made) + 1, folder, options, words, spoken, cache
                )
            )
    except BaseException:
        # A failed or interrupted run (Ctrl-C, SIGTERM, a bad frame) leaves no clips without a
        # manifest: they would look finished, and a rerun would not know to replace them.
        for short in made:
            for file in short.files.values():
                file.unlink(missing_ok=True)
        raise
    if len(made) < count:
        warnings.append(
            f"only {len(made)} clip(s) of {length[0]:g}-{length[1]:g} s fit; asked {count}"
        )
        logger.warning(warnings[-1])  # -q silences it, as every other warning
    _write_manifest(manifest, info, made, options, request, warnings)
    return Shorts(info, features, importance, options, folder, made, manifest, warnings)


def _remove_listed(manifest: Path, folder: Path) -> None:
    """Delete the clips an earlier run listed in ``manifest`` (and the manifest): new clips get
    new names, and old ones left beside them would look like part of this run. Only files inside
    ``folder`` are touched, whatever the manifest says."""
    try:
        earlier = json.loads(manifest.read_text(encoding="utf-8"))["clips"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    for clip in earlier:
        for name in clip.get("files", {}).values():
            listed = (manifest.parent / name).resolve()
            if listed.parent == folder.resolve():
                listed.unlink(missing_ok=True)
    manifest.unlink(missing_ok=True)


def speaks(timeline: Timeline, start: float, end: float) -> bool:
    """Whether the analysis hears anyone speak in ``[start, end)`` (`SILENT_SPAN`); a timeline
    without the voice or tagger signals (a stage that did not run) always may."""
    steps, _ = timeline.grid.steps_in(start, end)
    voiced = timeline.signal("voiced", default=1.0)[steps]
    speech = timeline.signal("event.speech", default=1.0)[steps]
    return bool(voiced.size) and bool(
        voiced.max() >= SILENT_SPAN[0] or speech.max() >= SILENT_SPAN[1]
    )


def _speech(
    info: MediaInfo, timeline: Timeline, clip: Clip, options: ShortsOptions, cache: FeatureCache
) -> tuple[list, str | None]:
    """The clip's words and language (none without captions, nor where no one speaks); moves
    the clip's edges onto sentence boundaries."""
    start = max(0.0, clip.start - CONTEXT_SECONDS)
    end = min(info.duration, clip.end + CONTEXT_SECONDS)
    if not options.captions or not speaks(timeline, start, end):
        return [], None
    spoken = spans.transcript(cache, info.path, start, end, options.language)
    clip.start, clip.end = fit_to_words(clip.start, clip.end, spoken.words, options.length)
    clip.start, clip.end = max(0.0, clip.start), min(info.duration, clip.end)
    words = [w for w in spoken.words if w.start >= clip.start and w.end <= clip.end]
    return words, spoken.language


def repeats(words: list, other: list, share: float = REPEAT_SHARE) -> bool:
    """Whether ``share`` of the word triples of ``words`` are also said in ``other``: the same
    passage again (a rerun, a looped segment), which a viewer would see as the same short."""

    def triples(ws: list) -> set[tuple[str, ...]]:
        tokens = [re.sub(r"\W+", "", w.text.lower()) for w in ws]
        tokens = [t for t in tokens if t]
        return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}

    mine = triples(words)
    return bool(mine) and len(mine & triples(other)) >= share * len(mine)


def _make_one(
    info: MediaInfo,
    timeline: Timeline,
    clip: Clip,
    rank: int,
    folder: Path,
    options: ShortsOptions,
    words: list,
    transcript_language: str | None,
    cache: FeatureCache,
) -> Short:
    from egvs.scoring.explain import reasons_for

    clip.reasons = reasons_for(Segment(clip.start, clip.end), timeline)
    text = " ".join(w.text.strip() for w in words).strip()
    stem = f"{rank:02d}-{slug(text or ' '.join(clip.reasons) or 'clip')}"
    files = {"video": folder / f"{stem}.mp4"}
    picture, crop = _picture(info, timeline, clip, options.size, words, options.fill, cache)
    from egvs.render.video import FAST_PRESET, render_segments

    render_segments(
        info,
        [Segment(clip.start, clip.end)],
        files["video"],
        size=options.size,
        picture=picture,
        preset=FAST_PRESET,
    )
    if options.captions:
        from egvs.captions import caption_cues, write_srt, write_vtt

        cues = caption_cues(words)
        files["srt"], files["vtt"] = folder / f"{stem}.srt", folder / f"{stem}.vtt"
        write_srt(cues, files["srt"], offset=clip.start)
        write_vtt(cues, files["vtt"], offset=clip.start)
    if options.timeline:
        from egvs.export.timeline import write_timeline

        files["timeline"] = folder / f"{stem}.otio"
        write_timeline(
            [Segment(clip.start, clip.end)], info, files["timeline"], metadata={"crop": crop}
        )
    logger.info("short %d: %.1f-%.1f s -> %s", rank, clip.start, clip.end, files["video"])
    return Short(rank, clip, files, text, transcript_language, crop, words)


def _picture(
    info: MediaInfo,
    timeline: Timeline,
    clip: Clip,
    size: tuple[int, int],
    words: list,
    fill: bool,
    cache: FeatureCache,
) -> tuple[PictureFn, dict]:
    """The per-frame transform of one clip (reframe, then captions) and its crop record."""
    from egvs.reframe import apply_crop, crop_path

    out_w, out_h = size
    track = spans.face_track(cache, info.path, clip.start, clip.end)
    path = crop_path(
        track,
        source_size=(info.width, info.height),
        aspect=(out_w, out_h),
        fps=info.fps,
        cuts=track.cuts,
        voiced=timeline.signal("voiced"),
        voiced_step=timeline.grid.step,
    )
    captions = None
    if words:
        from egvs.captions import caption_picture

        captions = caption_picture(words, out_w, out_h)

    def picture(source: Yuv420, t: float) -> Yuv420:
        if fill:  # group shots that cannot fit: the whole frame on a blurred background
            frame = path.render(source, t, out_w, out_h)
        else:
            frame = apply_crop(source, path.at(t), out_w, out_h)
        return captions(frame, t) if captions is not None else frame

    return picture, path.to_json() | {"fill_allowed": fill}


def _write_manifest(
    manifest: Path,
    info: MediaInfo,
    made: list[Short],
    options: ShortsOptions,
    request: SummaryRequest,
    warnings: list[str],
) -> None:
    from egvs.atomic import write_text

    doc = {
        "schema": SCHEMA,
        "input": {
            "path": str(info.path),
            "duration": round(info.duration, 3),
            "width": info.width,
            "height": info.height,
            "fps": round(info.fps, 3),
        },
        "options": options.to_json(),
        "importance": request.scorer_json(),
        "score": {"weights": SCORE_WEIGHTS, "doc": "docs/shorts.md"},
        "clips": [s.to_json(manifest.parent) for s in made],
        "warnings": warnings,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    write_text(manifest, text)
