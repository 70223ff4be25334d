"""The Gradio page: upload, budget and weights in; summary video, plot, segments and downloads out.

Only layout and wiring live here; the work is `egvs.app.jobs.run_job` over the public API.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import asdict, dataclass
from pathlib import Path

import gradio as gr

from egvs.app.jobs import (
    DEFAULT_MAX_UPLOAD,
    SEGMENT_HEADERS,
    JobResult,
    Workspace,
    clock,
    human_size,
    run_job,
    segment_rows,
)
from egvs.errors import EgvsError
from egvs.export.timeline import FORMATS
from egvs.scoring import FusionWeights

logger = logging.getLogger("egvs")

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


@dataclass
class AppConfig:
    """Limits of one server; `egvs demo` fills it from its options."""

    max_upload: int = DEFAULT_MAX_UPLOAD
    jobs: int = 1  # summaries at once: each already uses every core
    queue_size: int = 20


def _outputs(result: JobResult) -> tuple:
    """What the page shows for a finished job: status line, video, plot, table, downloads."""
    n = len(result.segments)
    status = (
        f"**Summary: {clock(result.summary_duration)}** of {clock(result.input_duration)} "
        f"in {n} segment{'s' * (n != 1)} · done in {result.seconds:.1f} s"
    )
    if result.warnings:
        status += "\n\n" + "\n".join(f"⚠ {w}" for w in result.warnings)
    return (
        status,
        str(result.video),
        str(result.plot),
        segment_rows(result.segments),
        result.downloads,
    )


def build(workspace: Workspace, config: AppConfig) -> gr.Blocks:
    """The page. Gradio's uploads and copies of results go to ``workspace.uploads``."""
    defaults = asdict(FusionWeights())
    with gr.Blocks(
        title="EGVS: emotion-guided video summaries",
        analytics_enabled=False,
        delete_cache=CACHE_CLEANUP,
    ) as demo:
        gr.Markdown(
            "# EGVS: emotion-guided video summaries\n"
            "Put in a video; get a short summary that keeps the moments where the emotion is "
            "(voices, laughter, applause, screams, motion), the emotion timeline, and a timeline "
            "for your editor that points at the original file. "
            f"Uploads up to {human_size(config.max_upload)}; one summary at a time, the rest wait "
            "in the queue."
        )
        with gr.Row():
            with gr.Column(scale=1):
                video = gr.Video(
                    label="Video to summarize", sources=["upload"], elem_id="input-video"
                )
                example = gr.Button("Use a generated example (60 s)", size="sm", elem_id="example")
                mode = gr.Radio(
                    [("Share of the video", "ratio"), ("Target length in seconds", "seconds")],
                    value="ratio",
                    label="Summary length",
                    elem_id="mode",
                )
                ratio = gr.Slider(0.05, 0.5, value=0.15, step=0.01, label="Share of the video")
                seconds = gr.Number(
                    value=30, minimum=1, label="Target seconds", visible=False, elem_id="seconds"
                )
                with gr.Accordion("Fusion weights", open=False):
                    w_emotion = gr.Slider(
                        0, 1, value=defaults["emotion"], step=0.05, label="emotion (voice)"
                    )
                    w_events = gr.Slider(
                        0,
                        1,
                        value=defaults["events"],
                        step=0.05,
                        label="events (laughter, applause...)",
                    )
                    w_visual = gr.Slider(
                        0, 1, value=defaults["visual"], step=0.05, label="visual (motion, novelty)"
                    )
                timeline_ext = gr.Dropdown(
                    TIMELINE_CHOICES, value=".otio", label="Editor timeline format"
                )
                run = gr.Button("Summarize", variant="primary", elem_id="summarize")
            with gr.Column(scale=2):
                status = gr.Markdown("Upload a video and press **Summarize**.", elem_id="status")
                summary = gr.Video(
                    label="Summary", interactive=False, height=400, elem_id="summary-video"
                )
                plot = gr.Image(
                    label="Emotion timeline", type="filepath", interactive=False, elem_id="plot"
                )
                table = gr.Dataframe(
                    headers=SEGMENT_HEADERS,
                    label="Chosen segments",
                    interactive=False,
                    elem_id="segments",
                )
                files = gr.File(
                    label="Downloads", file_count="multiple", interactive=False, elem_id="downloads"
                )

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
            progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 (Gradio's idiom)
        ) -> tuple:
            """One click of Summarize; user errors become a one-line message in the page."""
            progress(0.0, desc="Analysing (decoding, emotion, events, visual)")
            try:
                result = run_job(
                    workspace,
                    video,
                    max_bytes=config.max_upload,
                    ratio=ratio,
                    duration=float(seconds or 0) if mode == "seconds" else None,
                    weights={"emotion": w_emotion, "events": w_events, "visual": w_visual},
                    timeline_ext=timeline_ext,
                )
            except EgvsError as exc:
                # The user knows the file by its name, not by the server's upload path.
                message = str(exc).replace(video, Path(video).name) if video else str(exc)
                raise gr.Error(
                    message, title="Cannot summarize this file", print_exception=False
                ) from None
            except Exception as exc:
                logger.exception("summarize failed")
                raise gr.Error(f"internal error: {type(exc).__name__}: {exc}") from None
            return _outputs(result)

        run.click(
            summarize,
            [video, mode, ratio, seconds, w_emotion, w_events, w_visual, timeline_ext],
            [status, summary, plot, table, files],
            concurrency_limit=config.jobs,
            concurrency_id="summarize",
            api_name="summarize",
        )
    demo.queue(max_size=config.queue_size, default_concurrency_limit=1)
    return demo


def create(config: AppConfig, workdir: str | Path | None = None) -> tuple[gr.Blocks, Workspace]:
    """A page and its private working folder (GRADIO_TEMP_DIR points into it for this process)."""
    workspace = Workspace.create(workdir)
    os.environ["GRADIO_TEMP_DIR"] = str(workspace.uploads)
    return build(workspace, config), workspace


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
