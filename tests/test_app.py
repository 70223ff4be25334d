"""The web app: its checks alone, then end to end in real headless Chromium driven by Playwright.

The browser tests start `egvs demo`'s app in this process on 127.0.0.1 (a free port) and use the
real `egvs.summarize` on small generated videos. They need gradio + playwright (the `demo` and
`test` extras) and Debian's chromium (`scripts/install.sh --test` installs all three).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import opentimelineio as otio
import pytest
from browser import CHROMIUM, AppError, click_summarize, launch, upload, wait_result

from egvs.app.control import Job, JobCancelled, Sessions, watching
from egvs.app.jobs import DEFAULT_MAX_UPLOAD, Workspace, clock, parse_size, run_job, segment_rows
from egvs.app.text import LANGUAGES, TEXT, language_of, text
from egvs.errors import EgvsError, InputError
from egvs.example import make_video
from egvs.export.timeline import FORMATS
from egvs.segments import Segment

RESULT_TIMEOUT_MS = (
    180_000  # a summary of a 10 s clip takes seconds; CI machines are slow and shared
)


# ---------------------------------------------------------------- the work, without Gradio


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
    assert steps == [0.0 if quiet else 1.0]
    idle = progress(total=10)  # a bar outside any job neither reports nor stops
    idle.update(1)
    idle.close()


def test_sessions_cancel_only_their_own_running_job() -> None:
    sessions = Sessions()
    mine, other = Job(), Job()
    with sessions.run("tab-a", mine), sessions.run("tab-b", other):
        assert len(sessions) == 2
        assert sessions.cancel("tab-a")
        assert mine.cancelled.is_set() and not other.cancelled.is_set()
    assert len(sessions) == 0
    assert not sessions.cancel("tab-a")


def test_both_languages_have_every_text() -> None:
    assert set(TEXT) == set(LANGUAGES)
    assert all(TEXT[lang].keys() == TEXT["en"].keys() for lang in TEXT)
    assert language_of("ko-KR,ko;q=0.9,en-US;q=0.8") == "ko"
    assert language_of("fr-FR,en;q=0.5") == "en"
    assert language_of(None) == "en"
    assert text("ko", "cancel") == "취소"


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
        self.sessions = Sessions()  # the running job of each tab
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
    assert mp4[4:8] == b"ftyp" and info.value.suggested_filename == "holiday-clip-0-summary.mp4"
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
    assert "시작" in page.locator("#segments").inner_text()  # the table's headers
    page.locator("#language").get_by_text("English").click()
    page.wait_for_function(
        "() => document.querySelector('#summarize')?.innerText.includes('Summarize')",
        timeout=60_000,
    )
    assert "Video to summarize" in page.locator("#input-video").inner_text()
    context.close()


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
    """`egvs demo` as users run it, eight jobs on new inputs: the idle server used to keep growing
    by about 35 MiB a job (1.77 GiB after 30 jobs); now it levels off after the first few."""
    pytest.importorskip("gradio", reason="the web app needs the 'demo' extra (gradio)")
    import subprocess
    import urllib.request

    from gradio_client import Client, handle_file

    port = _free_port()
    egvs_cli = Path(sys.executable).with_name("egvs")
    server = subprocess.Popen(
        [str(egvs_cli), "demo", "--port", str(port), "--workdir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
        client = Client(url, verbose=False, download_files=False)
        idle = []
        for video in inputs:
            options = ("ratio", 0.2, 30, 0.4, 0.35, 0.25, ".otio", "en")
            status = client.predict(handle_file(str(video)), *options, api_name="/summarize")[0]
            assert "Summary:" in status
            idle.append(round(_rss_mib(server.pid)))
        print(f"idle RSS of the server after each job (MiB): {idle}")
        # The first two jobs load the models and warm the caches; after that no growth.
        assert idle[-1] < idle[1] + 150, idle
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
    page.close()


def test_shorts_job_zips_every_clip(tmp_path: Path, videos) -> None:
    from zipfile import ZipFile

    from egvs.app.jobs import run_shorts_job
    from egvs.shortform import ShortsOptions

    workspace = Workspace.create(tmp_path)
    upload = shutil.copy(videos[0], workspace.uploads / "clip.mp4")  # as Gradio stores uploads
    options = ShortsOptions.from_options(length="3-6", captions=False, count=2)
    result = run_shorts_job(workspace, upload, options=options)
    assert result.clips and all(Path(c["path"]).is_file() for c in result.clips)
    with ZipFile(result.bundle) as bundle:
        names = bundle.namelist()
    assert any(n.endswith("shorts.json") for n in names)
    assert all(any(n.endswith(Path(c["path"]).name) for n in names) for c in result.clips)
    workspace.cleanup()
