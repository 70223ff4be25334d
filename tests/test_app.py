"""The web app: its checks alone, then end to end in real headless Chromium driven by Playwright.

The browser tests start `egvs demo`'s app in this process on 127.0.0.1 (a free port) and use the
real `egvs.summarize` on small generated videos. They need gradio + playwright (the `demo` and
`test` extras) and Debian's chromium (`scripts/install.sh --test` installs all three).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import threading
import time
from functools import partial
from pathlib import Path
from urllib.parse import quote

import opentimelineio as otio
import pytest
from browser import CHROMIUM, AppError, click_summarize, launch, upload, wait_result

from egvs.app.control import Job, JobCancelled, Sessions, watching
from egvs.app.jobs import DEFAULT_MAX_UPLOAD, Workspace, clock, parse_size, run_job, segment_rows
from egvs.app.text import LANGUAGES, TEXT, language_of, text
from egvs.cache import cache_dir, file_digest
from egvs.errors import EgvsError, InputError
from egvs.example import make_video
from egvs.export.timeline import FORMATS
from egvs.segments import Segment
from egvs.shortform import ShortsOptions

RESULT_TIMEOUT_MS = (
    180_000  # a summary of a 10 s clip takes seconds; CI machines are slow and shared
)


# ---------------------------------------------------------------- the work, without Gradio


def quiet_sessions(slots: int = 1) -> Sessions:
    """Sessions without the idle timer: a 120 s timer left behind would drop Whisper and trim the
    heap while later test files run (the release itself has its own test)."""
    return Sessions(slots, release_after=None)


def test_parse_size() -> None:
    assert parse_size("2GB") == 2 * 1024**3
    assert parse_size("500 mb") == 500 * 1024**2
    assert parse_size("1.5G") == int(1.5 * 1024**3)
    assert parse_size("4096") == 4096
    for bad in ("", "2XB", "-1GB", "0"):
        with pytest.raises(ValueError, match="bad size"):
            parse_size(bad)


def test_clock_and_rows() -> None:
    assert clock(0) == "0:00.0"
    assert clock(75.25) == "1:15.2"
    assert clock(3725) == "1:02:05.0"
    rows = segment_rows([Segment(62.0, 70.5, 0.8123, ["laughter", "loud"])])
    assert rows == [[1, "1:02.0", "1:10.5", 8.5, 0.81, "laughter, loud"]]


def test_workspace_refuses_foreign_large_and_missing_files(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path)
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"x" * 10)
    with pytest.raises(InputError, match="only files uploaded"):
        ws.check_input(outside, 1000)
    with pytest.raises(InputError, match="only files uploaded"):
        ws.check_input(ws.uploads / ".." / ".." / "outside.mp4", 1000)
    inside = ws.uploads / "big.mp4"
    inside.write_bytes(b"x" * 2000)
    with pytest.raises(InputError, match=r"too large \(1.95 KB\); the limit is 1000 bytes"):
        ws.check_input(inside, 1000)
    with pytest.raises(InputError, match="upload it again"):
        ws.check_input(ws.uploads / "gone.mp4", 1000)
    with pytest.raises(InputError, match="no video"):
        ws.check_input(None, 1000)
    assert ws.check_input(inside, 5000) == inside.resolve()
    ws.cleanup()
    assert not ws.root.exists()


def test_job_folders_expire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = Workspace.create(tmp_path)
    first = ws.new_job()
    monkeypatch.setattr("egvs.app.jobs.JOB_TTL", -1.0)
    second = ws.new_job()
    assert not first.exists() and second.exists()


def test_run_job_refuses_zero_weights_before_any_work(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path)
    video = ws.uploads / "v.mp4"
    video.write_bytes(b"not read")
    with pytest.raises(EgvsError, match="weight"):
        run_job(ws, video, weights={"emotion": 0, "events": 0, "visual": 0})
    with pytest.raises(InputError, match="timeline format"):
        run_job(ws, video, timeline_ext=".aaf")
    assert list((ws.root / "jobs").iterdir()) == []


def test_timelines_point_at_the_upload_name_not_the_server_copy(tmp_path: Path) -> None:
    """The server's copy of an upload is temporary: every editor timeline names the original
    file, relative to the timeline, so it works when saved beside the user's video."""
    ws = Workspace.create(tmp_path)
    upload = ws.uploads / "3f2a9c" / "휴가 & clip.mp4"  # how Gradio stores an upload
    upload.parent.mkdir()
    make_video(upload, 4.0, size=(160, 90))
    timelines = {ext: run_job(ws, upload, timeline_ext=ext).timeline for ext in FORMATS}
    for ext, path in timelines.items():
        timeline = path.read_text(encoding="utf-8")
        assert quote(upload.name) in timeline, ext
        assert str(tmp_path) not in timeline and "file:" not in timeline, ext
    clips = otio.adapters.read_from_file(str(timelines[".otio"])).find_clips()
    assert {c.media_reference.target_url for c in clips} == {"%ED%9C%B4%EA%B0%80%20%26%20clip.mp4"}
    # The analysis JSON records the upload's own name, not where the server keeps it.
    analysis = run_job(ws, upload).analysis_json.read_text(encoding="utf-8")
    assert json.loads(analysis)["input"]["path"] == "휴가 & clip.mp4"
    assert str(ws.root) not in analysis and "gradio" not in analysis


@pytest.mark.parametrize(
    ("upload_name", "download_stem"),
    [
        ("한국어 영상.mp4", "한국어 영상"),
        ("e\u0301te\u0301 à Paris.mov", "été à Paris"),  # macOS sends NFD; stored as NFC
        ('what: "this" is?.mp4', "what- -this- is"),  # what Windows forbids is replaced
        ("CON.mp4", "video"),
    ],
)
def test_download_names_keep_the_upload_name(
    tmp_path: Path, upload_name: str, download_stem: str
) -> None:
    ws = Workspace.create(tmp_path)
    upload = ws.uploads / "3f2a9c" / upload_name
    upload.parent.mkdir()
    make_video(upload, 3.0, size=(160, 90))
    result = run_job(ws, upload, timeline_ext=".edl")
    names = [Path(p).name for p in result.downloads]
    assert names == [
        f"{download_stem}-{end}" for end in ("summary.mp4", "analysis.json", "summary.edl")
    ]
    assert Path(result.plot).name == f"{download_stem}-timeline.png"


@pytest.mark.parametrize("quiet", [False, True])
def test_cancel_stops_the_job_at_its_next_progress_step(quiet: bool) -> None:
    """Also with bars off (`egvs demo -q`, or an earlier `-q` in the process): a quiet bar does
    not count, but its job still gets the step and stops."""
    from egvs.progress import progress, set_verbosity, verbosity

    before = verbosity()
    set_verbosity(-1 if quiet else 0)
    steps: list[float] = []
    job = Job(report=lambda _desc, done, _total: steps.append(done))
    try:
        with watching(job):
            bar = progress(total=10, desc="analysing", unit="s")
            bar.update(1)
            job.cancel()
            with pytest.raises(JobCancelled):
                bar.update(1)
            bar.close()
    finally:
        set_verbosity(before)
    assert steps == [1.0]  # counted also when quiet: the page's progress line needs it
    idle = progress(total=10)  # a bar outside any job neither reports nor stops
    idle.update(1)
    idle.close()


def test_one_progress_line_names_each_stage_of_a_shorts_job() -> None:
    """The library's bars (and what follows each) make one line: the stage in words and one
    fraction of the whole job that never goes back, rather than a bar per stage that resets and
    sits at 100% while faces are found."""
    from egvs.app.control import Stages
    from egvs.progress import progress

    shown: list[tuple[float, str]] = []
    stages = Stages(lambda f, s: shown.append((f, s)), partial(text, "en"), clips=2, captions=True)
    job = Job(report=stages.step, finished=stages.finished)
    with watching(job):
        for desc, total in [
            ("analysing", 10),
            ("transcribing", 4),
            ("rendering", 3),
            ("transcribing", 4),
            ("rendering", 3),
        ]:
            bar = progress(total=total, desc=desc, unit="s")
            bar.update(total / 2)
            bar.update(total / 2)
            bar.close()
    fractions = [f for f, _ in shown]
    assert fractions == sorted(fractions) and fractions[-1] < 1.0
    assert [s for _, s in shown] == [
        "Analysing the video (decoding, emotion, sound events, picture)",
        "Analysing the video (decoding, emotion, sound events, picture)",
        "Clip 1 of 2: transcribing",  # the analysis is done; the first clip is next
        "Clip 1 of 2: transcribing",
        "Clip 1 of 2: transcribing",
        "Clip 1 of 2: following faces to frame it",  # no bar while faces are found
        "Clip 1 of 2: rendering",
        "Clip 1 of 2: rendering",
        "Clip 2 of 2: transcribing",
        "Clip 2 of 2: transcribing",
        "Clip 2 of 2: transcribing",
        "Clip 2 of 2: following faces to frame it",
        "Clip 2 of 2: rendering",
        "Clip 2 of 2: rendering",
        "Writing shorts.json and the zip",
    ]
    summary: list[str] = []
    stages = Stages(lambda _f, s: summary.append(s), partial(text, "ko"))
    stages.finished("analysing")
    stages.finished("rendering")
    assert summary == [text("ko", "stage_rendering"), text("ko", "stage_finishing")]


def test_sessions_cancel_only_their_own_running_job() -> None:
    sessions = quiet_sessions(slots=2)  # two jobs at once (`egvs demo --jobs 2`)
    mine, other = Job(), Job()
    with sessions.run("tab-a", mine), sessions.run("tab-b", other):
        assert len(sessions) == 2
        assert sessions.cancel("tab-a")
        assert mine.cancelled.is_set() and not other.cancelled.is_set()
    assert len(sessions) == 0
    assert not sessions.cancel("tab-a")


def _run_in_thread(sessions: Sessions, session: str, job: Job, work) -> dict:
    """Run ``work()`` as ``job`` in a new thread; the dict gets its start, end and outcome."""
    out: dict = {}

    def target() -> None:
        try:
            with sessions.run(session, job):
                out["start"] = time.monotonic()
                work()
            out["outcome"] = "done"
        except JobCancelled:
            out["outcome"] = "cancelled"
        out["end"] = time.monotonic()
        time.sleep(0.8)  # an interruption leaking out of the job would land here
        out["after"] = "clean"

    out["thread"] = threading.Thread(target=target, daemon=True)
    out["thread"].start()
    return out


def test_cancel_stops_work_that_makes_no_progress_steps() -> None:
    """A short's clip renders between two progress steps, and face tracking has none: the job is
    interrupted in its own thread, and only there."""

    def busy() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sum(range(1000))

    sessions = quiet_sessions()
    job = Job()
    run = _run_in_thread(sessions, "tab", job, busy)
    _wait_until(lambda: "start" in run, 10)
    cancelled = time.monotonic()
    job.cancel()
    run["thread"].join(10)
    assert run["outcome"] == "cancelled" and run["end"] - cancelled < 2.0
    assert run["after"] == "clean"
    assert len(sessions) == 0


def test_next_job_waits_until_the_cancelled_one_has_stopped() -> None:
    """Gradio frees its slot at once on Cancel; the next job must still not run beside the
    cancelled one, which needs a moment to stop (here a native call of 1.5 s)."""
    sessions = quiet_sessions()
    first, second = Job(), Job()
    run1 = _run_in_thread(sessions, "tab-a", first, lambda: time.sleep(1.5))
    _wait_until(lambda: "start" in run1, 10)
    first.cancel()
    run2 = _run_in_thread(sessions, "tab-b", second, lambda: None)
    run1["thread"].join(10)
    run2["thread"].join(10)
    assert run1["outcome"] == "cancelled" and run2["outcome"] == "done"
    assert run2["start"] - run1["start"] >= 1.45  # after the cancelled job's native call


def test_cancel_stops_a_render_within_its_clip(tmp_path: Path) -> None:
    """Rendering reports progress only when a clip is done; Cancel must not wait for that."""
    from egvs.media.probe import probe
    from egvs.render.video import FAST_PRESET, render_segments

    source = make_video(tmp_path / "long.mp4", 60.0, size=(160, 90), fps=25)
    info = probe(source)
    drawing = threading.Event()

    def picture(frame, t):  # as slow as reframing and captions on a busy machine: 30 s a clip
        drawing.set()
        time.sleep(0.02)
        return frame

    job = Job()
    run = _run_in_thread(
        quiet_sessions(),
        "tab",
        job,
        lambda: render_segments(
            info,
            [Segment(0.0, 60.0)],
            tmp_path / "clip.mp4",
            picture=picture,
            preset=FAST_PRESET,
        ),
    )
    assert drawing.wait(60)
    cancelled = time.monotonic()
    job.cancel()
    run["thread"].join(60)
    assert run["outcome"] == "cancelled"
    assert run["end"] - cancelled < 2.0, "the clip rendered on after Cancel"
    assert not (tmp_path / "clip.mp4").exists()


@pytest.mark.parametrize("stage", ["analysing", "transcribing", "tracking", "rendering"])
def test_shorts_job_stops_within_2s_in_every_stage(
    stage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel a shorts job once it is in ``stage`` (the analysis bar's first step, or the call
    that starts the stage): it ends within 2 s, with no clip left."""
    import egvs.captions
    import egvs.reframe
    import egvs.render.video
    from egvs.app.jobs import run_shorts_job

    workspace = Workspace.create(tmp_path)
    upload = make_video(workspace.uploads / "talk.mp4", 40.0, size=(320, 180), seed=7)
    if stage == "analysing":  # the other stages may reuse the features
        shutil.rmtree(cache_dir() / "features" / file_digest(upload), ignore_errors=True)
    reached = threading.Event()
    hooks = {
        "transcribing": (egvs.captions, "transcribe"),  # no bar step without speech
        "tracking": (egvs.reframe, "detect_track"),
        "rendering": (egvs.render.video, "render_segments"),
    }
    if stage == "transcribing":  # the generated sound is tones, where no one speaks
        import egvs.shortform.make

        monkeypatch.setattr(egvs.shortform.make, "speaks", lambda *_args: True)
    if stage in hooks:
        module, name = hooks[stage]
        original = getattr(module, name)

        def hooked(*args, **kwargs):
            reached.set()
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, hooked)
    job = Job(report=lambda desc, _done, _total: desc == stage == "analysing" and reached.set())
    run = _run_in_thread(
        quiet_sessions(),
        "tab",
        job,
        lambda: run_shorts_job(
            workspace, upload, options=ShortsOptions.from_options(count=2, length="5-20")
        ),
    )
    assert reached.wait(300), f"the job never reached {stage}"
    time.sleep(0.2)  # well inside the stage
    cancelled = time.monotonic()
    job.cancel()
    run["thread"].join(60)
    assert run.get("outcome") == "cancelled", run
    assert run["end"] - cancelled < 2.0, f"{stage}: stopped {run['end'] - cancelled:.1f} s late"
    assert not list((workspace.root / "jobs").glob("*/*/*.mp4"))
    workspace.cleanup()


def test_an_idle_server_lets_whisper_go(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whisper stays loaded between jobs (about 140 MiB); once no job has run for a while it is
    dropped, and a job that runs meanwhile keeps it."""
    import functools

    import egvs.captions.transcribe  # noqa: F401 (the module, which the package name hides)

    module = sys.modules["egvs.captions.transcribe"]
    loaded = functools.cache(lambda: object())
    monkeypatch.setattr(module, "load_model", loaded)
    sessions = Sessions(release_after=0.3)
    with sessions.run("tab", Job()):
        loaded()
    with sessions.run("tab", Job()):
        time.sleep(0.5)  # the first job's timer passes while this one runs
        assert loaded.cache_info().currsize == 1
    _wait_until(lambda: loaded.cache_info().currsize == 0, 5)


def test_both_languages_have_every_text() -> None:
    assert set(TEXT) == set(LANGUAGES)
    assert all(TEXT[lang].keys() == TEXT["en"].keys() for lang in TEXT)
    assert language_of("ko-KR,ko;q=0.9,en-US;q=0.8") == "ko"
    assert language_of("fr-FR,en;q=0.5") == "en"
    assert language_of(None) == "en"
    assert text("ko", "cancel") == "취소"


def test_korean_reasons_and_plot_words() -> None:
    """Every reason `egvs.scoring.explain` can give (and the face expressions) has Korean words,
    strengths kept; the plot has Korean words for each of its English ones."""
    from egvs.app.jobs import shorts_rows
    from egvs.app.text import PLOT_LABELS, reason
    from egvs.export.plot import LABELS
    from egvs.features.audio_events import MOMENT_EVENTS
    from egvs.features.emotion import EMOTION_CLASSES, VOCALIZATIONS

    phrases = [*MOMENT_EVENTS, *(f"{v} voice" for v in (*VOCALIZATIONS, *EMOTION_CLASSES))]
    phrases += ["high arousal", "fast motion", "new scene", "loud", "above-average importance"]
    phrases += ["smiling face", "surprised face"]
    untranslated = [p for p in phrases if reason("ko", f"{p} 0.83") in (f"{p} 0.83",)]
    assert untranslated == []
    assert reason("ko", "crying voice 0.91") == "우는 목소리 0.91"
    assert reason("en", "crying voice 0.91") == "crying voice 0.91"
    rows = segment_rows([Segment(1.0, 3.0, 0.5, ["laughter 0.82", "new scene"])], "ko")
    assert rows[0][-1] == "웃음 0.82, 새 장면"
    clip = {"rank": 1, "start": 0, "end": 5, "score": 0.7, "reasons": ["loud"], "transcript": ""}
    assert shorts_rows([clip], "ko")[0][4] == "큰 소리"
    assert PLOT_LABELS["ko"].keys() == LABELS.keys()
    assert all(re.search("[가-힣]", PLOT_LABELS["ko"][k]) for k in LABELS)


def test_every_font_stack_of_the_page_starts_with_the_web_font() -> None:
    """The bundled CJK font comes first in the theme (its unicode-range keeps Latin on the system
    fonts): after a generic family, Chromium drew Hangul laid out before the font arrived as
    boxes. Gradio's own --font-sans (the table's label) is the theme's font too."""
    from egvs.app.ui import CJK_FAMILY, THEME, AppConfig, launch_kwargs

    for stack in (THEME.font, THEME.font_mono):
        assert stack.split(",")[0].strip() == CJK_FAMILY
    assert "--font-sans: var(--font)" in launch_kwargs(AppConfig(), "127.0.0.1", 7860)["css"]


def test_summary_plot_speaks_the_page_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import egvs.app.jobs
    from egvs.export.plot import plot_timeline

    drawn: list[dict | None] = []

    def plot(analysis, path, labels=None):
        drawn.append(labels)
        plot_timeline(analysis, path, labels)

    monkeypatch.setattr(egvs.app.jobs, "plot_timeline", plot)
    ws = Workspace.create(tmp_path)
    upload = make_video(ws.uploads / "휴가.mp4", 3.0, size=(160, 90))
    result = run_job(ws, upload, language="ko")
    assert drawn and drawn[0] is not None and "요약" in drawn[0]["title"]
    assert result.plot.stat().st_size > 10_000


def test_demo_without_gradio_says_how_to_install(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from egvs.cli.main import main

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio -> ImportError
    monkeypatch.delitem(sys.modules, "egvs.app.ui", raising=False)
    assert main(["demo", "--port", "1"]) == 4
    assert "pip install 'egvs[demo]'" in capsys.readouterr().err


# ---------------------------------------------------------------- end to end in Chromium


def _needs_browser() -> None:
    pytest.importorskip("gradio", reason="the web app needs the 'demo' extra (gradio)")
    pytest.importorskip("playwright", reason="browser tests need playwright (the 'test' extra)")
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app on a free local port, in this process; `close` stops it and removes its files."""

    def __init__(self, workdir: Path, max_upload: int = DEFAULT_MAX_UPLOAD) -> None:
        from egvs.app.ui import AppConfig, create, launch_kwargs

        previous = os.environ.get("GRADIO_TEMP_DIR")
        config = AppConfig(max_upload=max_upload)
        self.sessions = quiet_sessions()  # the running job of each tab
        self.demo, self.workspace = create(config, workdir, self.sessions)
        port = _free_port()
        self.demo.launch(prevent_thread_lock=True, **launch_kwargs(config, "127.0.0.1", port))
        self.url = f"http://127.0.0.1:{port}/"
        self._previous_temp = previous

    def close(self) -> None:
        self.demo.close()
        self.workspace.cleanup()
        if self._previous_temp is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = self._previous_temp


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    _needs_browser()
    srv = Server(tmp_path_factory.mktemp("app"))
    yield srv
    srv.close()
    assert not srv.workspace.root.exists(), "working folder left behind"


@pytest.fixture(scope="module")
def browser():
    _needs_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = launch(pw)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two different 10 s clips (calm, lively 6-8 s, calm) with user-like file names."""
    folder = tmp_path_factory.mktemp("videos")
    return [make_video(folder / f"holiday clip {i}.mp4", 10.0, seed=i) for i in range(2)]


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page.goto(url)
    page.wait_for_selector("#summarize", timeout=60_000)
    return page


def _summarize(page, started: float | None = None) -> str:
    """Click Summarize (unless clicked at ``started``), wait for the result and return the
    status line; an error shown in the page fails the test with its text."""
    try:
        wait_result(page, started or click_summarize(page), RESULT_TIMEOUT_MS)
    except AppError as exc:
        pytest.fail(f"the app showed an error: {exc}")
    return page.locator("#status").inner_text()


def _toast(page, text: str) -> str:
    """The text of the error message in the page that contains ``text`` (waits for it)."""
    toast = page.locator(".toast-body", has_text=text).first
    toast.wait_for(timeout=60_000)
    return toast.inner_text()


def test_upload_summarize_and_download(
    server: Server, browser, videos, monkeypatch, tmp_path
) -> None:
    from egvs.cache import FeatureCache

    stores = []
    original_store = FeatureCache.store
    monkeypatch.setattr(
        FeatureCache,
        "store",
        lambda self, *a, **k: (stores.append(a[0]), original_store(self, *a, **k))[1],
    )
    page = _open(browser, server.url)
    upload(page, videos[0])
    status = _summarize(page)
    assert "Summary:" in status

    # The summary plays in the page: the browser loaded its metadata.
    duration = _video_duration(page, "#summary-video video")
    assert 0.5 < duration < 10.0
    # The plot is a real image.
    page.wait_for_function(
        "() => { const i = document.querySelector('#plot img'); return i && i.complete && i.naturalWidth > 100; }",
        timeout=30_000,
    )
    # The table names the lively part (6-8 s) and why.
    table = page.locator("#segments").inner_text()
    assert "0:0" in table and "why" in table
    if os.environ.get("EGVS_APP_SCREENSHOT"):
        _save_screenshot(page, Path(os.environ["EGVS_APP_SCREENSHOT"]))

    # Downloads: the mp4 through a real browser download, the others over HTTP from the page.
    links = page.locator("#downloads a.download-link")
    assert links.count() == 3
    with page.expect_download() as info:
        links.nth(0).click()
    mp4 = Path(info.value.path()).read_bytes()
    assert mp4[4:8] == b"ftyp" and info.value.suggested_filename == "holiday clip 0-summary.mp4"
    analysis = json.loads(page.request.get(links.nth(1).get_attribute("href")).body())
    assert analysis["schema"] == "egvs.analysis/1"
    assert analysis["summary"]["segments"]
    otio_text = page.request.get(links.nth(2).get_attribute("href")).text()
    clips = otio.adapters.read_from_string(otio_text, "otio_json").find_clips()
    assert len(clips) >= len(analysis["summary"]["segments"])
    # The clips name the uploaded file, not the server's temporary copy of it.
    assert {c.media_reference.target_url for c in clips} == {"holiday%20clip%200.mp4"}
    assert "holiday clip 0.mp4" in status  # and the page says how to relink it
    # Nothing outside the app's folders is served.
    for foreign in ("/etc/passwd", str(videos[0])):
        response = page.request.get(f"{server.url}gradio_api/file={foreign}")
        assert response.status in (403, 404), foreign

    # A new budget reuses the cached features: nothing is computed or stored again.
    assert stores, "the first run should have filled the feature cache"
    stores.clear()
    page.locator("#mode").get_by_text("Target length in seconds").click()
    page.locator("#seconds input").fill("3")
    status2 = _summarize(page)
    assert stores == [], f"rerun recomputed {stores}"
    assert status2 != status
    page.close()


def test_two_browsers_at_once(server: Server, browser, videos) -> None:
    """Two users (separate browser contexts) click within a second: both get their summary."""
    contexts = [browser.new_context() for _ in videos]
    pages = []
    for ctx, video in zip(contexts, videos, strict=True):
        page = ctx.new_page()
        page.goto(server.url)
        page.wait_for_selector("#summarize", timeout=60_000)
        upload(page, video)
        pages.append(page)
    clicks = [click_summarize(page) for page in pages]  # one runs, the other waits in the queue
    statuses = [_summarize(page, started) for page, started in zip(pages, clicks, strict=True)]
    assert all("Summary:" in s for s in statuses)
    for page in pages:
        assert page.locator("#downloads a.download-link").count() == 3
    for ctx in contexts:
        ctx.close()


def test_clear_messages_for_bad_uploads(server: Server, browser, tmp_path: Path) -> None:
    page = _open(browser, server.url)
    fake = tmp_path / "notes.mp4"
    fake.write_text("these are my notes, not a video\n" * 20)
    page.locator("#input-video input[type=file]").set_input_files(str(fake))
    click_summarize(page)
    message = _toast(page, "not a readable media file: notes.mp4")
    assert "Traceback" not in message
    # Gradio hides its toast after a while; the message stays in the status line until the next
    # run, and no output is left with an unlabelled "Error" badge.
    page.locator(".toast-body").first.wait_for(state="detached", timeout=60_000)
    status = page.locator("#status").inner_text()
    assert "Cannot summarize this file: not a readable media file: notes.mp4" in status
    assert page.get_by_text("Error", exact=True).count() == 0
    page.close()

    small = Server(tmp_path, max_upload=parse_size("1MB"))
    try:
        page = _open(browser, small.url)
        big = tmp_path / "huge.mp4"
        big.write_bytes(os.urandom(parse_size("1.5MB")))
        page.locator("#input-video input[type=file]").set_input_files(str(big))
        # Refused before the upload: Gradio's message names the limit and the file.
        message = _toast(page, "exceed the maximum allowed size of 1.0 Mb")
        assert "huge.mp4" in message
        page.close()
    finally:
        small.close()


def test_zero_target_seconds_is_refused_in_the_status_line(server: Server, browser, videos) -> None:
    """0 is checked with the other options: one message that stays, no "Error" on every output,
    and not blamed on the file."""
    page = _open(browser, server.url)
    upload(page, videos[0])
    page.locator("#mode").get_by_text("Target length in seconds").click()
    page.locator("#seconds input").fill("0")
    click_summarize(page)
    page.wait_for_function(
        "() => document.querySelector('#status')?.innerText.includes('budget seconds')",
        timeout=RESULT_TIMEOUT_MS,
    )
    status = page.locator("#status").inner_text()
    assert "Check the options: budget seconds must be > 0" in status
    assert "this file" not in status
    page.locator(".toast-body").first.wait_for(state="detached", timeout=60_000)
    assert "budget seconds" in page.locator("#status").inner_text()
    assert page.get_by_text("Error", exact=True).count() == 0
    page.close()


@pytest.fixture(scope="module")
def long_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-minute clip: its analysis takes long enough to be stopped in the middle."""
    folder = tmp_path_factory.mktemp("long")
    return make_video(folder / "long talk.mp4", 240.0, size=(160, 90), fps=12)


def _wait_until(condition, timeout: float = 60.0) -> None:
    """Poll a condition of the server (not of the page) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _start_long_job(server: Server, page, video: Path) -> None:
    """Upload ``video``, click Summarize and wait until its job runs (not just waits)."""
    upload(page, video)
    click_summarize(page)
    _wait_until(lambda: len(server.sessions) == 1)


def _summaries(server: Server, video: Path) -> list[Path]:
    return list((server.workspace.root / "jobs").glob(f"*/{video.stem.replace(' ', '-')}-*.mp4"))


def test_cancel_stops_the_running_job(server: Server, browser, long_video, videos) -> None:
    page = _open(browser, server.url)
    _start_long_job(server, page, long_video)
    page.click("#cancel")
    page.wait_for_function(
        "() => document.querySelector('#status')?.innerText.includes('Cancelled.')",
        timeout=10_000,
    )
    _wait_until(lambda: len(server.sessions) == 0)  # the library's work stopped...
    assert _summaries(server, long_video) == []  # ...before it rendered anything
    page.close()
    other = _open(browser, server.url)  # and the worker is free for the next job
    upload(other, videos[1])
    assert "Summary:" in _summarize(other)
    other.close()


def test_closing_the_tab_stops_its_job(server: Server, browser, long_video, videos) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url)
    _start_long_job(server, page, long_video)
    context.close()
    _wait_until(lambda: len(server.sessions) == 0)
    assert _summaries(server, long_video) == []
    other = _open(browser, server.url)
    upload(other, videos[0])
    assert "Summary:" in _summarize(other)
    other.close()


def test_korean_page(server: Server, browser) -> None:
    """A Korean browser (Accept-Language) gets the Korean page; the selector switches back."""
    context = browser.new_context(locale="ko-KR")
    page = context.new_page()
    page.goto(server.url)
    page.wait_for_function(
        "() => document.querySelector('#summarize')?.innerText.includes('요약하기')",
        timeout=60_000,
    )
    assert "요약할 영상" in page.locator("#input-video").inner_text()
    # Hangul is drawn with the bundled Noto Sans CJK the app serves, not a system font.
    loaded = page.evaluate(
        "() => document.fonts.load('16px EGVSNotoSansCJK', '요약').then(fs => fs.length)"
    )
    assert loaded == 1
    assert _hangul_not_in_the_web_font(page) == []
    assert "시작" in page.locator("#segments").inner_text()  # the table's headers
    # A message stays when the language changes: it is said again in the new language.
    page.click("#summarize")  # with no video
    page.wait_for_function(
        "() => document.querySelector('#status')?.innerText.includes('요약할 수 없습니다')",
        timeout=60_000,
    )
    page.locator("#language").get_by_text("English").click()
    page.wait_for_function(
        "() => document.querySelector('#summarize')?.innerText.includes('Summarize')",
        timeout=60_000,
    )
    assert "Video to summarize" in page.locator("#input-video").inner_text()
    assert _hangul_not_in_the_web_font(page) == []  # "Language / 언어", "한국어"
    page.wait_for_function(
        "() => document.querySelector('#status')?.innerText.includes('Cannot summarize this file')",
        timeout=10_000,
    )
    context.close()


def _hangul_not_in_the_web_font(page) -> list[list[str]]:
    """Each piece of Hangul on the page (Gradio's own upload prompt, labels and table headers
    too) whose font stack does not start with the bundled web font: text, stack."""
    return page.evaluate(
        """() => {
        const found = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const text = walker.currentNode.textContent.trim();
            const family = getComputedStyle(walker.currentNode.parentElement).fontFamily;
            if (/[가-힣]/.test(text) && !family.startsWith('EGVSNotoSansCJK')) {
                found.push([text.slice(0, 30), family]);
            }
        }
        return found;
    }"""
    )


def test_generated_example(server: Server, browser) -> None:
    page = _open(browser, server.url)
    page.click("#example")
    duration = _video_duration(page, "#input-video video", timeout_ms=RESULT_TIMEOUT_MS)
    assert duration == pytest.approx(60.0, abs=0.5)
    page.close()


def _video_duration(page, selector: str, timeout_ms: int = 30_000) -> float:
    """The duration of a video element once the browser has read its metadata (NaN before)."""
    page.wait_for_function(
        "s => { const v = document.querySelector(s); return v && v.readyState >= 1; }",
        arg=selector,
        timeout=timeout_ms,
    )
    return page.eval_on_selector(selector, "v => v.duration")


def _save_screenshot(page, path: Path) -> None:
    """A small PNG of the page for the docs (palette colours keep it small)."""
    from PIL import Image

    raw = path.with_suffix(".raw.png")
    page.screenshot(path=str(raw), full_page=True)
    Image.open(raw).convert("RGB").quantize(colors=128).save(path, optimize=True)
    raw.unlink()


def _rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_idle_memory_stays_flat_over_many_jobs(tmp_path: Path) -> None:
    """The app as users run it, eight jobs on new inputs, summaries and shorts with captions
    (Whisper) alternating: the idle server used to keep growing by about 35 MiB a job (1.77 GiB
    after 30 jobs); now it levels off after the first few, and gives Whisper back when idle."""
    pytest.importorskip("gradio", reason="the web app needs the 'demo' extra (gradio)")
    import subprocess
    import urllib.request

    from gradio_client import Client, handle_file

    port = _free_port()
    release_after = 10.0
    serve = (
        # the generated videos' sound is tones, where no one speaks: transcribe them all the same,
        # so that the shorts jobs load Whisper
        "import egvs.shortform.make as make; make.speaks = lambda *_args: True; "
        "from egvs.app.ui import AppConfig, serve; "
        f"serve(AppConfig(release_after={release_after}), port={port}, workdir={str(tmp_path)!r})"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", serve], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        inputs = [
            make_video(tmp_path / f"clip {i}.mp4", 12.0, seed=10 + i, size=(640, 360), fps=12)
            for i in range(8)
        ]
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while True:  # the server is up when its page answers
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "no server"
                time.sleep(0.2)
        idle = []
        for i, video in enumerate(inputs):
            # A user each: a session that ended (its connection gone) cancels what it still runs.
            client = Client(url, verbose=False, download_files=False)
            if i % 2:
                options = (3, "4-8", "9:16", True, "en")
                status = client.predict(handle_file(str(video)), *options, api_name="/shorts")[0]
                assert "short(s)" in status, status
            else:
                options = ("ratio", 0.2, 30, 0.4, 0.35, 0.25, 0.5, ".otio", "en")
                status = client.predict(handle_file(str(video)), *options, api_name="/summarize")[0]
                assert "Summary:" in status, status
            idle.append(round(_rss_mib(server.pid)))
        time.sleep(release_after + 5)
        released = round(_rss_mib(server.pid))
        print(f"idle RSS of the server after each job (MiB): {idle}; {released} once idle")
        # The first two jobs of each kind load the models and warm the caches; after that the
        # idle RSS moves by about 50 MiB either way but does not grow with each job (measured:
        # 434, 623, 670, 714, 806, 830, 812, 773 MiB and 379, 502, 633, 590, 653, 600, .., 697;
        # the old server grew about 35 MiB a job). The bound is the 150 MiB margin of the
        # summaries-only test over the last four jobs: it catches growth above ~37 MiB a job,
        # not a slower one (the noise between jobs is as large as that).
        assert idle[-1] < idle[3] + 150, idle
        assert released < idle[-1] - 50, (idle, released)  # Whisper went
    finally:
        server.terminate()
        server.wait(30)


def test_server_cleans_up(tmp_path: Path, videos) -> None:
    """Stopping the server removes its uploads, results and job folders."""
    _needs_browser()
    srv = Server(tmp_path)
    shutil.copy(videos[0], srv.workspace.uploads / "x.mp4")
    srv.workspace.new_job()
    done = threading.Event()
    threading.Thread(target=lambda: (srv.close(), done.set()), daemon=True).start()
    assert done.wait(30)
    time.sleep(0.1)
    assert not srv.workspace.root.exists()


def test_shorts_tab_makes_playable_clips_and_a_zip(server: Server, browser, videos) -> None:
    page = _open(browser, server.url)
    page.get_by_role("tab", name="Shorts").click()
    page.locator("#shorts-input input[type=file]").set_input_files(str(videos[1]))
    page.wait_for_selector("#shorts-input video", timeout=RESULT_TIMEOUT_MS)
    page.fill("#shorts-length textarea, #shorts-length input", "3-6")
    page.locator("#shorts-captions input[type=checkbox]").uncheck()
    page.click("#shorts-run")
    page.wait_for_function(
        "() => /short\\(s\\)/.test(document.querySelector('#shorts-status').innerText)",
        timeout=RESULT_TIMEOUT_MS,
    )
    assert "error" not in page.locator("#shorts-status").inner_text().lower()
    rows = page.locator("#shorts-table tbody tr")
    assert rows.count() >= 1
    assert page.locator("#shorts-clips video, #shorts-clips img").count() >= 1
    names = page.locator("#shorts-downloads").inner_text()
    assert ".zip" in names and ".mp4" in names
    # Each thumbnail shows the whole frame, not a square cut out of it.
    fits = page.eval_on_selector_all(
        "#shorts-clips video, #shorts-clips img",
        "els => els.map(e => getComputedStyle(e).objectFit)",
    )
    assert fits and set(fits) == {"contain"}, fits
    page.close()


def test_shorts_tab_has_its_own_cancel(server: Server, browser, long_video) -> None:
    page = _open(browser, server.url)
    page.get_by_role("tab", name="Shorts").click()
    page.locator("#shorts-input input[type=file]").set_input_files(str(long_video))
    page.wait_for_selector("#shorts-input video", timeout=RESULT_TIMEOUT_MS)
    page.click("#shorts-run")
    _wait_until(lambda: len(server.sessions) == 1)
    cancels: list[float] = []
    cancel = server.sessions.cancel
    server.sessions.cancel = lambda *a: (cancels.append(time.monotonic()), cancel(*a))[1]
    try:
        page.click("#shorts-cancel")
        _wait_until(lambda: len(server.sessions) == 0, 10)
    finally:
        del server.sessions.cancel
    assert time.monotonic() - cancels[0] < 2.0, "the job ran on after Cancel"
    page.wait_for_function(
        "() => document.querySelector('#shorts-status')?.innerText.includes('Cancelled.')",
        timeout=10_000,
    )
    assert "Make shorts" in page.locator("#shorts-status").inner_text()
    assert "Cancelled" not in page.locator("#status").inner_text()  # the other tab is untouched
    page.close()


def test_shorts_job_zips_every_clip(tmp_path: Path, videos) -> None:
    from zipfile import ZipFile

    from egvs.app.jobs import run_shorts_job

    workspace = Workspace.create(tmp_path)
    upload = shutil.copy(videos[0], workspace.uploads / "clip.mp4")  # as Gradio stores uploads
    options = ShortsOptions.from_options(length="3-6", captions=False, count=2)
    result = run_shorts_job(workspace, upload, options=options)
    assert result.clips and all(Path(c["path"]).is_file() for c in result.clips)
    with ZipFile(result.bundle) as bundle:
        names = bundle.namelist()
        manifest = bundle.read(next(n for n in names if n.endswith("shorts.json"))).decode()
    assert json.loads(manifest)["input"]["path"] == "clip.mp4"  # not the server's path
    assert str(workspace.root) not in manifest
    assert any(n.endswith("shorts.json") for n in names)
    assert all(any(n.endswith(Path(c["path"]).name) for n in names) for c in result.clips)
    workspace.cleanup()


def test_a_video_shorter_than_the_clip_length_says_what_was_made(tmp_path: Path) -> None:
    """A 6 s video with length 15-60: the page says the clip is 6 s and why, rather than only
    "only 1 clip of 15-60 s fit" beside a 6 s clip."""
    from egvs.app.jobs import run_shorts_job
    from egvs.app.ui import _shorts_status

    workspace = Workspace.create(tmp_path)
    upload = make_video(workspace.uploads / "short.mp4", 6.0, size=(160, 90))
    result = run_shorts_job(
        workspace,
        upload,
        options=ShortsOptions.from_options(length="15-60", captions=False, count=1),
    )
    assert [c["rank"] for c in result.shorter_than_asked] == [1]
    status = _shorts_status(result, "en")
    clip = result.clips[0]["duration"]
    assert (
        f"The video is only 6.0 s long, shorter than the 15 s asked for: clip #1 is {clip:.1f} s"
        in status
    )
    assert "영상 길이가 6.0초로" in _shorts_status(result, "ko")
    workspace.cleanup()
