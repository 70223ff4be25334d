"""Driving the page in headless Chromium with Playwright: shared by the browser tests and
benchmarks/app_latency.py, so both wait for a result the same way.

Playwright's own browser download does not work on our machines; Debian's chromium does.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
# Headless, and nothing that reaches the network behind the page's back.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Gradio marks the status block "pending" from the click (queued or running) to the result.
_DONE = """() => {
    const wrapper = document.querySelector('#status [data-testid="markdown-wrapper"]');
    const pending = wrapper && wrapper.classList.contains('pending');
    if (pending) window.__egvsSeenPending = true;
    if (document.querySelector('.toast-body')) return true;
    return window.__egvsSeenPending && !pending;
}"""


class AppError(RuntimeError):
    """The page showed an error message instead of a result."""


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def upload(page: Page, video: Path, timeout_ms: float = 600_000) -> None:
    """Put ``video`` in the input and wait until the page shows it."""
    page.locator("#input-video input[type=file]").set_input_files(str(video))
    page.wait_for_selector("#input-video video", timeout=timeout_ms)


def click_summarize(page: Page) -> float:
    """Click Summarize; returns the click's time for `wait_result`."""
    page.evaluate("() => { window.__egvsSeenPending = false; }")
    started = time.perf_counter()
    page.click("#summarize")
    return started


def wait_result(page: Page, started: float, timeout_ms: float = 1_800_000) -> float:
    """Wait for the result of the click at ``started``; seconds since then. AppError on an error."""
    page.wait_for_function(_DONE, timeout=timeout_ms, polling=50)
    elapsed = time.perf_counter() - started
    toast = page.locator(".toast-body")
    if toast.count():
        raise AppError(toast.first.inner_text())
    return elapsed


def summarize(page: Page, timeout_ms: float = 1_800_000) -> float:
    """Click Summarize and wait for the result: seconds from the click to the result shown."""
    return wait_result(page, click_summarize(page), timeout_ms)
