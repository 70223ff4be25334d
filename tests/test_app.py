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

import pytest

from egvs.app.browser import CHROMIUM, AppError, click_summarize, launch, upload, wait_result
from egvs.app.jobs import DEFAULT_MAX_UPLOAD, Workspace, clock, parse_size, run_job, segment_rows
from egvs.errors import InputError
from egvs.segments import Segment
from egvs.testing.media import make_video

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
    with pytest.raises(InputError, match="weight"):
        run_job(ws, video, weights={"emotion": 0, "events": 0, "visual": 0})
    with pytest.raises(InputError, match="timeline format"):
        run_job(ws, video, timeline_ext=".aaf")
    assert list((ws.root / "jobs").iterdir()) == []


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
        self.demo, self.workspace = create(config, workdir)
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
    import opentimelineio as otio

    clips = otio.adapters.read_from_string(otio_text, "otio_json").find_clips()
    assert len(clips) >= len(analysis["summary"]["segments"])
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
