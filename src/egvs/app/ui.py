"""The Gradio page: upload, budget and weights in; summary video, plot, segments and downloads out.

Only layout and wiring live here; the work is `egvs.app.jobs.run_job` over the public API, its
cancelling `egvs.app.control`, and every word the page shows `egvs.app.text`.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import gradio as gr
import pandas as pd

from egvs.app.control import (
    RELEASE_AFTER,
    Job,
    JobCancelled,
    Sessions,
    Stages,
    release_memory,
)
from egvs.app.jobs import (
    DEFAULT_MAX_UPLOAD,
    JobResult,
    ShortsJobResult,
    Workspace,
    clock,
    human_size,
    run_job,
    run_shorts_job,
    segment_rows,
    shorts_rows,
)
from egvs.app.text import DEFAULT_LANGUAGE, LANGUAGES, language_of, text
from egvs.errors import EgvsError, InputError, OutputError, SetupError
from egvs.export.timeline import FORMATS
from egvs.fonts import cjk_font_path
from egvs.scoring import FusionWeights
from egvs.selection.budget import DEFAULT_RATIO
from egvs.shortform.options import ASPECTS, DEFAULTS, ShortsOptions

logger = logging.getLogger("egvs")
T = TypeVar("T")

# The bundled Noto Sans CJK (`egvs.fonts`), served by the app itself, draws Hangul, kana and
# Han on a machine without such a font (nothing is fetched from the internet); its
# unicode-range leaves Latin to the system fonts. It comes first: after a generic family,
# Chromium left Hangul laid out before the font arrived (the title, Summarize, Gradio's own
# "Drop Video Here") as boxes for good.
CJK_FAMILY = "EGVSNotoSansCJK"
THEME = gr.themes.Default(
    font=[CJK_FAMILY, "ui-sans-serif", "system-ui", "sans-serif"],
    font_mono=[CJK_FAMILY, "ui-monospace", "monospace"],
)
# Some of Gradio's components (the table's label) take --font-sans, which the theme does not set.
THEME_FONT_CSS = ":root, .gradio-container { --font-sans: var(--font); }"
# Only the CJK blocks: a page without them never downloads the font (17 MB, Bold only).
_CJK_RANGES = (
    "U+1100-11FF, U+2E80-9FFF, U+A960-A97F, U+AC00-D7FF, U+F900-FAFF, U+FE30-FE4F, U+FF00-FFEF"
)
CACHE_CLEANUP = (1800, 3600)  # every 30 min, drop uploads and results older than an hour
_FORMAT_NAMES = {
    ".otio": "OpenTimelineIO",
    ".edl": "CMX 3600 EDL",
    ".xml": "Final Cut Pro 7 / Premiere XML",
    ".fcpxml": "Final Cut Pro X",
}
TIMELINE_CHOICES = [(f"{_FORMAT_NAMES.get(ext, ext)} ({ext})", ext) for ext in FORMATS]
_COLUMNS = ["col_n", "col_start", "col_end", "col_length", "col_score", "col_why"]


@dataclass
class AppConfig:
    """Limits of one server; `egvs demo` fills it from its options."""

    max_upload: int = DEFAULT_MAX_UPLOAD
    jobs: int = 1  # summaries at once: each already uses every core
    queue_size: int = 20
    release_after: float = RELEASE_AFTER  # idle seconds before Whisper is dropped


Message = tuple[str, dict]  # a text key and its values: a status line in any language


@dataclass
class Shown:
    """What a tab's status line and table show, kept in the tab's `gr.State` so that a change of
    language redraws them in the new language instead of clearing them."""

    message: Message | None = None  # None: the hint
    result: JobResult | ShortsJobResult | None = None
    source: str = ""  # the upload's name


def _table(result: JobResult | None, language: str) -> pd.DataFrame:
    """The segments table with headers in the page's language (empty without a result)."""
    rows = segment_rows(result.segments, language) if result is not None else []
    return pd.DataFrame(rows, columns=[text(language, key) for key in _COLUMNS])


def _shorts_table(clips: list[dict] | None, language: str) -> pd.DataFrame:
    """The shorts table with headers in the page's language (empty without a result)."""
    columns = ["col_n", "col_start", "col_end", "col_score", "col_why", "col_transcript"]
    rows = shorts_rows(clips, language) if clips else []
    return pd.DataFrame(rows, columns=[text(language, key) for key in columns])


def _summary_view(shown: Shown, language: str) -> tuple[str, pd.DataFrame]:
    """The Summary tab's status line and table for what it shows, in ``language``."""
    result = shown.result
    if not isinstance(result, JobResult):
        key, values = shown.message or ("ready", {})
        return text(language, key, **values), _table(None, language)
    status = text(
        language,
        "done",
        summary=clock(result.summary_duration),
        total=clock(result.input_duration),
        n=len(result.segments),
        seconds=result.seconds,
    )
    status += "\n\n" + text(language, "relink", name=shown.source)
    if result.warnings:
        status += "\n\n" + "\n".join(f"⚠ {w}" for w in result.warnings)
    return status, _table(result, language)


def _shorts_view(shown: Shown, language: str) -> tuple[str, pd.DataFrame]:
    """The Shorts tab's status line and table for what it shows, in ``language``."""
    result = shown.result
    if not isinstance(result, ShortsJobResult):
        key, values = shown.message or ("shorts_ready", {})
        return text(language, key, **values), _shorts_table(None, language)
    return _shorts_status(result, language), _shorts_table(result.clips, language)


def _attempt(
    work: Callable[[], T],
    sessions: Sessions,
    request: gr.Request,
    progress: gr.Progress,
    video: str | None,
    language: str,
    tab: str,
    clips: int = 0,
    captions: bool = False,
) -> tuple[T | None, Message]:
    """``(work(), ("", {}))`` run as the job of the page's ``tab`` (Cancel and a closed tab stop
    it), or ``(None, message)`` for the status line when it was cancelled or failed. One progress
    line names the stage (`Stages`: a summary, or ``clips`` shorts). Memory goes back to the
    system either way."""

    def show(fraction: float, stage: str) -> None:
        progress(fraction, desc=stage)

    stages = Stages(show, partial(text, language), clips, captions)
    show(0.0, text(language, "stage_analysing"))
    job = Job(report=stages.step, finished=stages.finished)
    try:
        with sessions.run(request.session_hash, job, tab):
            return work(), ("", {})
    except JobCancelled:
        return None, (_cancelled(tab), {})
    except EgvsError as exc:
        # The user knows the file by its name, not by the server's upload path.
        message = str(exc).replace(video, Path(video).name) if video else str(exc)
        gr.Warning(message)  # a toast to catch the eye; the status line keeps it
        return None, (_error_kind(exc, tab), {"message": message})
    except Exception as exc:
        logger.exception("job failed")
        return None, ("internal", {"message": f"{type(exc).__name__}: {exc}"})
    finally:
        release_memory()


Labelled = list[tuple[gr.components.Component | gr.Blocks, str]]


def _follow_language(language: gr.Radio, labelled: Labelled, named: Labelled) -> None:
    """Relabel ``labelled`` components (their label) and ``named`` ones (their value: buttons)
    when the page's language changes."""

    def relabel(lang: str) -> list:
        return [
            *(gr.update(label=text(lang, key)) for _, key in labelled),
            *(gr.update(value=text(lang, key)) for _, key in named),
        ]

    components = [c for c, _ in labelled] + [c for c, _ in named]
    language.change(relabel, language, components, queue=False)


def _header(config: AppConfig) -> gr.Radio:
    """The introduction and the language selector (set from the browser's Accept-Language)."""
    en = DEFAULT_LANGUAGE
    with gr.Row():
        intro = gr.Markdown(text(en, "intro", limit=human_size(config.max_upload)))
        language = gr.Radio(
            [(name, code) for code, name in LANGUAGES.items()],
            value=en,
            label=text(en, "language"),
            elem_id="language",
            scale=0,
            min_width=200,
        )
    language.change(
        lambda lang: text(lang, "intro", limit=human_size(config.max_upload)),
        language,
        intro,
        queue=False,
    )
    return language


def _summary_tab(
    workspace: Workspace, config: AppConfig, sessions: Sessions, language: gr.Radio
) -> None:
    """The Summary tab: upload, budget, weights and format in; video, plot, table, downloads out."""
    defaults = asdict(FusionWeights())
    en = DEFAULT_LANGUAGE

    def t(key: str) -> str:
        return text(en, key)

    with gr.Tab(t("tab_summary"), elem_id="tab-summary") as tab, gr.Row():
        with gr.Column(scale=1):
            video = gr.Video(label=t("input"), sources=["upload"], elem_id="input-video")
            example = gr.Button(t("example"), size="sm", elem_id="example")
            mode = gr.Radio(
                [(t("mode_ratio"), "ratio"), (t("mode_seconds"), "seconds")],
                value="ratio",
                label=t("length"),
                elem_id="mode",
            )
            ratio = gr.Slider(0.05, 0.5, value=DEFAULT_RATIO, step=0.01, label=t("ratio"))
            # No `minimum`: Gradio would refuse 0 before the job, with an "Error" badge on every
            # output; the job checks it with the other options and says why in the status line.
            seconds = gr.Number(value=30, label=t("seconds"), visible=False, elem_id="seconds")
            with gr.Accordion(t("weights"), open=False) as weights:
                w_emotion = gr.Slider(
                    0, 1, value=defaults["emotion"], step=0.05, label=t("w_emotion")
                )
                w_events = gr.Slider(0, 1, value=defaults["events"], step=0.05, label=t("w_events"))
                w_visual = gr.Slider(0, 1, value=defaults["visual"], step=0.05, label=t("w_visual"))
                w_faces = gr.Slider(0, 1, value=defaults["faces"], step=0.05, label=t("w_faces"))
            timeline_ext = gr.Dropdown(TIMELINE_CHOICES, value=".otio", label=t("format"))
            with gr.Row():
                run = gr.Button(t("run"), variant="primary", elem_id="summarize")
                cancel = gr.Button(t("cancel"), variant="stop", elem_id="cancel")
        with gr.Column(scale=2):
            status = gr.Markdown(t("ready"), elem_id="status")
            summary = gr.Video(
                label=t("summary"), interactive=False, height=400, elem_id="summary-video"
            )
            plot = gr.Image(label=t("plot"), type="filepath", interactive=False, elem_id="plot")
            table = gr.Dataframe(
                value=_table(None, en), label=t("segments"), interactive=False, elem_id="segments"
            )
            files = gr.File(
                label=t("downloads"), file_count="multiple", interactive=False, elem_id="downloads"
            )

    labelled: Labelled = [
        (tab, "tab_summary"),
        (video, "input"),
        (mode, "length"),
        (ratio, "ratio"),
        (seconds, "seconds"),
        (weights, "weights"),
        (w_emotion, "w_emotion"),
        (w_events, "w_events"),
        (w_visual, "w_visual"),
        (w_faces, "w_faces"),
        (timeline_ext, "format"),
        (summary, "summary"),
        (plot, "plot"),
        (table, "segments"),
        (files, "downloads"),
    ]
    _follow_language(language, labelled, [(example, "example"), (run, "run"), (cancel, "cancel")])

    shown = gr.State(Shown())

    def relabel(lang: str, now: Shown) -> tuple:
        """The length choices, and the status line and table as they are, in ``lang``."""
        modes = [(text(lang, "mode_ratio"), "ratio"), (text(lang, "mode_seconds"), "seconds")]
        return gr.update(choices=modes), *_summary_view(now, lang)

    language.change(relabel, [language, shown], [mode, status, table], queue=False)
    mode.change(
        lambda m: (gr.update(visible=m == "ratio"), gr.update(visible=m == "seconds")),
        mode,
        [ratio, seconds],
        queue=False,
    )
    example.click(lambda: str(workspace.example()), None, video, concurrency_id="example")

    def summarize(
        video: str | None,
        mode: str,
        ratio: float,
        seconds: float | None,
        w_emotion: float,
        w_events: float,
        w_visual: float,
        w_faces: float,
        timeline_ext: str,
        lang: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> tuple:
        """One click of Summarize. Messages, cancelling included, go to the status line."""
        result, failure = _attempt(
            lambda: run_job(
                workspace,
                video,
                max_bytes=config.max_upload,
                ratio=ratio,
                duration=float(seconds or 0) if mode == "seconds" else None,
                weights={
                    "emotion": w_emotion,
                    "events": w_events,
                    "visual": w_visual,
                    "faces": w_faces,
                },
                timeline_ext=timeline_ext,
                language=lang,
            ),
            sessions,
            request,
            progress,
            video,
            lang,
            "summary",
        )
        if result is None:
            # The message stays until the next run; the previous results are cleared. (gr.Error
            # would be a toast that fades and an unlabelled "Error" badge on every output.)
            now = Shown(message=failure)
            return *_summary_view(now, lang), None, None, None, now
        assert video is not None  # run_job refuses a missing upload
        now = Shown(result=result, source=Path(video).name)
        status, table = _summary_view(now, lang)
        return status, table, str(result.video), str(result.plot), result.downloads, now

    running = run.click(
        summarize,
        [
            video,
            mode,
            ratio,
            seconds,
            w_emotion,
            w_events,
            w_visual,
            w_faces,
            timeline_ext,
            language,
        ],
        [status, table, summary, plot, files, shown],
        show_progress_on=[status],  # one progress line, not one on every output
        concurrency_limit=config.jobs,
        concurrency_id="summarize",
        api_name="summarize",
    )
    stop = _stopper(sessions, "summary", _summary_view)
    cancel.click(stop, language, [status, table, shown], cancels=[running], queue=False)


def _shorts_tab(
    workspace: Workspace, config: AppConfig, sessions: Sessions, language: gr.Radio
) -> None:
    """The Shorts tab: upload, count, length, shape and captions in; clips, table, zip out."""
    en = DEFAULT_LANGUAGE

    def t(key: str) -> str:
        return text(en, key)

    with gr.Tab(t("tab_shorts"), elem_id="tab-shorts") as tab, gr.Row():
        with gr.Column(scale=1):
            video = gr.Video(label=t("shorts_input"), sources=["upload"], elem_id="shorts-input")
            count = gr.Slider(1, 10, value=DEFAULTS.count, step=1, label=t("shorts_count"))
            length = gr.Textbox(
                value=DEFAULTS.length_text, label=t("shorts_length"), elem_id="shorts-length"
            )
            aspect = gr.Radio(list(ASPECTS), value=DEFAULTS.aspect, label=t("shorts_aspect"))
            captions = gr.Checkbox(
                value=DEFAULTS.captions, label=t("shorts_captions"), elem_id="shorts-captions"
            )
            with gr.Row():
                run = gr.Button(t("shorts_run"), variant="primary", elem_id="shorts-run")
                cancel = gr.Button(t("cancel"), variant="stop", elem_id="shorts-cancel")
        with gr.Column(scale=2):
            status = gr.Markdown(t("shorts_ready"), elem_id="shorts-status")
            # "contain": the whole frame of each clip, not a square cut from its middle.
            clips = gr.Gallery(
                label=t("shorts_clips"), columns=3, object_fit="contain", elem_id="shorts-clips"
            )
            table = gr.Dataframe(
                value=_shorts_table(None, en),
                label=t("shorts_table"),
                interactive=False,
                elem_id="shorts-table",
            )
            files = gr.File(
                label=t("shorts_downloads"),
                file_count="multiple",
                interactive=False,
                elem_id="shorts-downloads",
            )

    labelled: Labelled = [
        (tab, "tab_shorts"),
        (video, "shorts_input"),
        (count, "shorts_count"),
        (length, "shorts_length"),
        (aspect, "shorts_aspect"),
        (captions, "shorts_captions"),
        (clips, "shorts_clips"),
        (table, "shorts_table"),
        (files, "shorts_downloads"),
    ]
    _follow_language(language, labelled, [(run, "shorts_run"), (cancel, "cancel")])
    shown = gr.State(Shown())
    language.change(_shorts_view, [shown, language], [status, table], queue=False)

    def make_shorts(
        video: str | None,
        count: float,
        length: str,
        aspect: str,
        captions: bool,
        lang: str,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> tuple:
        """One click of Make shorts; messages go to its status line, as for Summarize."""
        result, failure = _attempt(
            lambda: run_shorts_job(
                workspace,
                video,
                max_bytes=config.max_upload,
                options=ShortsOptions.from_options(
                    count=count, length=length, aspect=aspect, captions=captions
                ),
            ),
            sessions,
            request,
            progress,
            video,
            lang,
            "shorts",
            clips=int(count),
            captions=captions,
        )
        if result is None:
            now = Shown(message=failure)
            return *_shorts_view(now, lang), None, None, now
        now = Shown(result=result, source=Path(str(video)).name)
        gallery = [(c["path"], f"#{c['rank']} · {c['score']:.2f}") for c in result.clips]
        return *_shorts_view(now, lang), gallery, result.downloads, now

    running = run.click(
        make_shorts,
        [video, count, length, aspect, captions, language],
        [status, table, clips, files, shown],
        show_progress_on=[status],
        concurrency_limit=config.jobs,
        concurrency_id="summarize",  # one queue: shorts and summaries share the machine
        api_name="shorts",
    )
    stop = _stopper(sessions, "shorts", _shorts_view)
    cancel.click(stop, language, [status, table, shown], cancels=[running], queue=False)


def _shorts_status(result: ShortsJobResult, language: str) -> str:
    """What a Shorts click made, in words: the clips, any clip shorter than asked and why, and
    the library's warnings."""
    lines = [text(language, "shorts_done", n=len(result.clips), seconds=result.seconds)]
    lines += [
        text(
            language,
            "shorts_shorter",
            rank=clip["rank"],
            clip=clip["duration"],
            low=result.min_length,
            duration=result.input_duration,
        )
        for clip in result.shorter_than_asked
    ]
    lines += [f"⚠ {w}" for w in result.warnings]
    return "\n\n".join(lines)


def _error_kind(exc: EgvsError, tab: str) -> str:
    """The text key of an error's status line: only a file's fault says "this file"."""
    if isinstance(exc, InputError):
        return "error" if tab == "summary" else "shorts_error"
    if isinstance(exc, (OutputError, SetupError)):
        return "cannot_run"
    return "options"  # a bad length, all weights zero...


def _cancelled(tab: str) -> str:
    """The text key of a cancelled job's status line: how to start the tab's job again."""
    return "cancelled" if tab == "summary" else "shorts_cancelled"


def _stopper(
    sessions: Sessions, tab: str, view: Callable[[Shown, str], tuple[str, pd.DataFrame]]
) -> Callable[[str, gr.Request], tuple]:
    """The handler of ``tab``'s Cancel button: its status line and table (drawn by ``view``)
    and what they show. (Gradio passes ``request`` by the annotation of a plain function, not of
    a partial.)"""

    def stop(lang: str, request: gr.Request) -> tuple:
        """Cancel: a queued job leaves the queue (Gradio's `cancels`); a running one stops within
        a second (`egvs.app.control`), and the next job waits until it has."""
        sessions.cancel(request.session_hash, tab)
        now = Shown(message=(_cancelled(tab), {}))
        return *view(now, lang), now

    return stop


def build(workspace: Workspace, config: AppConfig, sessions: Sessions | None = None) -> gr.Blocks:
    """The page. Gradio's uploads and copies of results go to ``workspace.uploads``; ``sessions``
    holds the running job of each tab (for Cancel and closed tabs)."""
    sessions = sessions if sessions is not None else Sessions(config.jobs, config.release_after)
    with gr.Blocks(
        title=text(DEFAULT_LANGUAGE, "title"), analytics_enabled=False, delete_cache=CACHE_CLEANUP
    ) as demo:
        language = _header(config)
        with gr.Tabs():
            _summary_tab(workspace, config, sessions, language)
            _shorts_tab(workspace, config, sessions, language)

        def detect(request: gr.Request) -> str:
            """The browser's preferred language (Accept-Language), when the page speaks it."""
            return language_of(request.headers.get("accept-language"))

        def closed(request: gr.Request) -> None:
            """A closed tab (its heartbeat connection gone) stops its job: nobody would see it."""
            sessions.cancel(request.session_hash)

        demo.load(detect, None, language, queue=False)
        demo.unload(closed)
    demo.queue(max_size=config.queue_size, default_concurrency_limit=1)
    return demo


def create(
    config: AppConfig, workdir: str | Path | None = None, sessions: Sessions | None = None
) -> tuple[gr.Blocks, Workspace]:
    """A page and its private working folder (GRADIO_TEMP_DIR points into it for this process)."""
    workspace = Workspace.create(workdir)
    os.environ["GRADIO_TEMP_DIR"] = str(workspace.uploads)
    return build(workspace, config, sessions), workspace


# The gallery's grid crops its thumbnails square (object-fit: cover) whatever `object_fit` says,
# which only reaches the enlarged preview: a vertical short showed as a square cut of its middle.
THUMBNAILS_CSS = "#shorts-clips img, #shorts-clips video { object-fit: contain !important; }"


def web_font() -> tuple[str, list[str]]:
    """The page's CSS that serves the bundled CJK font, and the path Gradio may serve for it
    (nothing when the font package is missing: the page then uses system fonts only)."""
    try:
        path = cjk_font_path()
    except SetupError:
        return "", []
    css = (
        f"@font-face {{ font-family: {CJK_FAMILY}; font-weight: 100 900; font-display: swap; "
        f"src: url('gradio_api/file={quote(str(path))}') format('opentype'); "
        f"unicode-range: {_CJK_RANGES}; }}"
    )
    return css, [str(path)]


def launch_kwargs(config: AppConfig, host: str, port: int) -> dict:
    """Launch options: local only by default, no share link, no server-side rendering (needs Node)."""
    css, font_paths = web_font()
    return {
        "css": f"{THEME_FONT_CSS}\n{THUMBNAILS_CSS}\n{css}",
        "allowed_paths": font_paths,
        "server_name": host,
        "server_port": port,
        "max_file_size": config.max_upload,
        "share": False,
        "ssr_mode": False,
        "theme": THEME,
        "footer_links": [],
        "run_history": False,
        "show_error": True,
        "quiet": True,
    }


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(
    config: AppConfig, host: str = "127.0.0.1", port: int = 7860, workdir: str | Path | None = None
) -> None:
    """Run the app until Ctrl-C or SIGTERM, then remove every file it made."""
    demo, workspace = create(config, workdir)
    # A service manager stops us with SIGTERM: turn it into the Ctrl-C Gradio handles, so the
    # working folder is removed either way.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(
            f"EGVS demo on http://{host}:{port} (working files in {workspace.root}; Ctrl-C stops)"
        )
        demo.launch(**launch_kwargs(config, host, port))
    finally:
        demo.close()
        workspace.cleanup()
