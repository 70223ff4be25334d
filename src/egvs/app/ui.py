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
from pathlib import Path
from typing import TypeVar

import gradio as gr
import pandas as pd

from egvs.app.control import Job, JobCancelled, Sessions, release_memory
from egvs.app.jobs import (
    DEFAULT_MAX_UPLOAD,
    JobResult,
    Workspace,
    clock,
    human_size,
    run_job,
    run_shorts_job,
    segment_rows,
    shorts_rows,
)
from egvs.app.text import DEFAULT_LANGUAGE, LANGUAGES, language_of, text
from egvs.errors import EgvsError
from egvs.export.timeline import FORMATS
from egvs.scoring import FusionWeights
from egvs.selection.budget import DEFAULT_RATIO
from egvs.shortform.options import ASPECTS, DEFAULTS, ShortsOptions

logger = logging.getLogger("egvs")
T = TypeVar("T")

# System fonts only: the page must not fetch anything from the internet.
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"],
    font_mono=["ui-monospace", "monospace"],
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


def _table(result: JobResult | None, language: str) -> pd.DataFrame:
    """The segments table with headers in the page's language (empty without a result)."""
    rows = segment_rows(result.segments) if result is not None else []
    return pd.DataFrame(rows, columns=[text(language, key) for key in _COLUMNS])


def _shorts_table(clips: list[dict] | None, language: str) -> pd.DataFrame:
    """The shorts table with headers in the page's language (empty without a result)."""
    columns = ["col_n", "col_start", "col_end", "col_score", "col_why", "col_transcript"]
    rows = shorts_rows(clips) if clips else []
    return pd.DataFrame(rows, columns=[text(language, key) for key in columns])


def _outputs(result: JobResult, source: Path, language: str) -> tuple:
    """What the page shows for a finished job: status line, video, plot, table, downloads."""
    status = text(
        language,
        "done",
        summary=clock(result.summary_duration),
        total=clock(result.input_duration),
        n=len(result.segments),
        seconds=result.seconds,
    )
    status += "\n\n" + text(language, "relink", name=source.name)
    if result.warnings:
        status += "\n\n" + "\n".join(f"⚠ {w}" for w in result.warnings)
    return (
        status,
        str(result.video),
        str(result.plot),
        _table(result, language),
        result.downloads,
    )


def _attempt(
    work: Callable[[], T],
    sessions: Sessions,
    request: gr.Request,
    progress: gr.Progress,
    desc: str,
    video: str | None,
    language: str,
) -> tuple[T | None, str]:
    """``(work(), "")`` run as the tab's job (its bars drive ``progress`` under ``desc``; Cancel
    and a closed tab stop it), or ``(None, message)`` for the status line when it was cancelled
    or failed. Memory goes back to the system either way."""
    progress(0.0, desc=desc)
    job = Job(report=lambda _stage, done, total: progress((done, total), desc, unit="s"))
    try:
        with sessions.run(request.session_hash, job):
            return work(), ""
    except JobCancelled:
        return None, text(language, "cancelled")
    except EgvsError as exc:
        # The user knows the file by its name, not by the server's upload path.
        message = str(exc).replace(video, Path(video).name) if video else str(exc)
        gr.Warning(message)  # a toast to catch the eye; the status line keeps it
        return None, text(language, "error", message=message)
    except Exception as exc:
        logger.exception("job failed")
        return None, text(language, "internal", message=f"{type(exc).__name__}: {exc}")
    finally:
        release_memory()


def _message(status: str, language: str) -> tuple:
    """A status line that stays until the next run, with the previous results cleared.

    Raising gr.Error would show a toast that vanishes after 10 s and leave unlabelled "Error"
    badges on every output.
    """
    return status, None, None, _table(None, language), None


def build(workspace: Workspace, config: AppConfig, sessions: Sessions | None = None) -> gr.Blocks:
    """The page. Gradio's uploads and copies of results go to ``workspace.uploads``; ``sessions``
    holds the running job of each tab (for Cancel and closed tabs)."""
    sessions = sessions if sessions is not None else Sessions()
    defaults = asdict(FusionWeights())
    en = DEFAULT_LANGUAGE

    def t(key: str) -> str:
        return text(en, key)

    with gr.Blocks(title=t("title"), analytics_enabled=False, delete_cache=CACHE_CLEANUP) as demo:
        with gr.Row():
            intro = gr.Markdown(text(en, "intro", limit=human_size(config.max_upload)))
            language = gr.Radio(
                [(name, code) for code, name in LANGUAGES.items()],
                value=en,
                label=t("language"),
                elem_id="language",
                scale=0,
                min_width=200,
            )
        with gr.Tabs():
            with gr.Tab(t("tab_summary"), elem_id="tab-summary") as tab_summary, gr.Row():
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
                    seconds = gr.Number(
                        value=30,
                        minimum=1,
                        label=t("seconds"),
                        visible=False,
                        elem_id="seconds",
                    )
                    with gr.Accordion(t("weights"), open=False) as weights:
                        w_emotion = gr.Slider(
                            0, 1, value=defaults["emotion"], step=0.05, label=t("w_emotion")
                        )
                        w_events = gr.Slider(
                            0, 1, value=defaults["events"], step=0.05, label=t("w_events")
                        )
                        w_visual = gr.Slider(
                            0, 1, value=defaults["visual"], step=0.05, label=t("w_visual")
                        )
                    timeline_ext = gr.Dropdown(TIMELINE_CHOICES, value=".otio", label=t("format"))
                    with gr.Row():
                        run = gr.Button(t("run"), variant="primary", elem_id="summarize")
                        cancel = gr.Button(t("cancel"), variant="stop", elem_id="cancel")
                with gr.Column(scale=2):
                    status = gr.Markdown(t("ready"), elem_id="status")
                    summary = gr.Video(
                        label=t("summary"),
                        interactive=False,
                        height=400,
                        elem_id="summary-video",
                    )
                    plot = gr.Image(
                        label=t("plot"), type="filepath", interactive=False, elem_id="plot"
                    )
                    table = gr.Dataframe(
                        value=_table(None, en),
                        label=t("segments"),
                        interactive=False,
                        elem_id="segments",
                    )
                    files = gr.File(
                        label=t("downloads"),
                        file_count="multiple",
                        interactive=False,
                        elem_id="downloads",
                    )

            with gr.Tab(t("tab_shorts"), elem_id="tab-shorts") as tab_shorts, gr.Row():
                with gr.Column(scale=1):
                    s_video = gr.Video(
                        label=t("shorts_input"), sources=["upload"], elem_id="shorts-input"
                    )
                    s_count = gr.Slider(
                        1, 10, value=DEFAULTS.count, step=1, label=t("shorts_count")
                    )
                    s_length = gr.Textbox(
                        value=DEFAULTS.length_text,
                        label=t("shorts_length"),
                        elem_id="shorts-length",
                    )
                    s_aspect = gr.Radio(
                        list(ASPECTS), value=DEFAULTS.aspect, label=t("shorts_aspect")
                    )
                    s_captions = gr.Checkbox(
                        value=DEFAULTS.captions,
                        label=t("shorts_captions"),
                        elem_id="shorts-captions",
                    )
                    s_run = gr.Button(t("shorts_run"), variant="primary", elem_id="shorts-run")
                with gr.Column(scale=2):
                    s_status = gr.Markdown(t("shorts_ready"), elem_id="shorts-status")
                    s_clips = gr.Gallery(label=t("shorts_clips"), columns=3, elem_id="shorts-clips")
                    s_table = gr.Dataframe(
                        value=_shorts_table(None, en),
                        label=t("shorts_table"),
                        interactive=False,
                        elem_id="shorts-table",
                    )
                    s_files = gr.File(
                        label=t("shorts_downloads"),
                        file_count="multiple",
                        interactive=False,
                        elem_id="shorts-downloads",
                    )

        labelled = [
            (video, "input"),
            (mode, "length"),
            (ratio, "ratio"),
            (seconds, "seconds"),
            (weights, "weights"),
            (w_emotion, "w_emotion"),
            (w_events, "w_events"),
            (w_visual, "w_visual"),
            (timeline_ext, "format"),
            (summary, "summary"),
            (plot, "plot"),
            (table, "segments"),
            (files, "downloads"),
            (tab_summary, "tab_summary"),
            (tab_shorts, "tab_shorts"),
            (s_video, "shorts_input"),
            (s_count, "shorts_count"),
            (s_length, "shorts_length"),
            (s_aspect, "shorts_aspect"),
            (s_captions, "shorts_captions"),
            (s_clips, "shorts_clips"),
            (s_table, "shorts_table"),
            (s_files, "shorts_downloads"),
        ]
        named = [(example, "example"), (run, "run"), (cancel, "cancel"), (s_run, "shorts_run")]

        def relabel(lang: str) -> list:
            """Every label, button and heading of the page in ``lang`` (the status line goes back
            to the hint: a language is chosen before a run)."""
            modes = [(text(lang, "mode_ratio"), "ratio"), (text(lang, "mode_seconds"), "seconds")]
            return [
                gr.update(value=text(lang, "intro", limit=human_size(config.max_upload))),
                *(gr.update(label=text(lang, key)) for _, key in labelled),
                *(gr.update(value=text(lang, key)) for _, key in named),
                gr.update(choices=modes),
                gr.update(value=text(lang, "ready")),
                _table(None, lang),
                gr.update(value=text(lang, "shorts_ready")),
                _shorts_table(None, lang),
            ]

        language.change(
            relabel,
            language,
            [
                intro,
                *(c for c, _ in labelled),
                *(c for c, _ in named),
                mode,
                status,
                table,
                s_status,
                s_table,
            ],
            queue=False,
        )

        def detect(request: gr.Request) -> str:
            """The browser's preferred language (Accept-Language), when the page speaks it."""
            return language_of(request.headers.get("accept-language"))

        demo.load(detect, None, language, queue=False)
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
                    weights={"emotion": w_emotion, "events": w_events, "visual": w_visual},
                    timeline_ext=timeline_ext,
                ),
                sessions,
                request,
                progress,
                text(lang, "progress"),
                video,
                lang,
            )
            if result is None:
                return _message(failure, lang)
            assert video is not None  # run_job refuses a missing upload
            return _outputs(result, Path(video), lang)

        running = run.click(
            summarize,
            [video, mode, ratio, seconds, w_emotion, w_events, w_visual, timeline_ext, language],
            [status, summary, plot, table, files],
            concurrency_limit=config.jobs,
            concurrency_id="summarize",
            api_name="summarize",
        )

        def stop(lang: str, request: gr.Request) -> str:
            """Cancel: a queued job leaves the queue (Gradio's `cancels`), a running one stops at
            its next progress step."""
            sessions.cancel(request.session_hash)
            return text(lang, "cancelled")

        cancel.click(stop, language, status, cancels=[running], queue=False)

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
                text(lang, "shorts_progress"),
                video,
                lang,
            )
            if result is None:
                return failure, None, _shorts_table(None, lang), None
            status = text(lang, "shorts_done", n=len(result.clips), seconds=result.seconds)
            if result.warnings:
                status += "\n\n" + "\n".join(f"⚠ {w}" for w in result.warnings)
            gallery = [(c["path"], f"#{c['rank']} · {c['score']:.2f}") for c in result.clips]
            return status, gallery, _shorts_table(result.clips, lang), result.downloads

        s_running = s_run.click(
            make_shorts,
            [s_video, s_count, s_length, s_aspect, s_captions, language],
            [s_status, s_clips, s_table, s_files],
            concurrency_limit=config.jobs,
            concurrency_id="summarize",  # one queue: shorts and summaries share the machine
            api_name="shorts",
        )
        cancel.click(stop, language, s_status, cancels=[s_running], queue=False)

        def closed(request: gr.Request) -> None:
            """A closed tab (its heartbeat connection gone) stops its job: nobody would see it."""
            sessions.cancel(request.session_hash)

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


def launch_kwargs(config: AppConfig, host: str, port: int) -> dict:
    """Launch options: local only by default, no share link, no server-side rendering (needs Node)."""
    return {
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
