"""The built-in page (docs/api.md) in a real Chromium against the real app on loopback.

Needs Playwright for Python and Debian's `chromium` (not Playwright's own download).
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn

from langproc.api.app import create_app
from langproc.settings import Settings
from tests.paths import SAMPLES
from tests.support.waiting import wait_until

try:
    from playwright.sync_api import Browser, Page, Request, expect, sync_playwright
except ImportError:  # pragma: no cover - CI installs it with the test extras
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():  # pragma: no cover - CI installs Debian's chromium
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.slow

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# `make screenshot` sets it to refresh the README's picture of the page.
SCREENSHOT = os.environ.get("LANGPROC_SCREENSHOT")
SECRET = "a-test-secret-that-is-long-enough-for-hs256"
DONE_MS = 60_000  # the local pipeline takes a few seconds; a loaded CI machine more
# Records each row's statuses as the list re-renders; a reload would wipe it.
WATCH_ROWS = """() => {
  window.seenStatuses = {};
  new MutationObserver(() => {
    for (const row of document.querySelectorAll("#rows tr")) {
      const seen = (window.seenStatuses[row.querySelector("a").textContent] ??= []);
      if (seen.at(-1) !== row.dataset.status) seen.push(row.dataset.status);
    }
  }).observe(document.querySelector("#rows"), { childList: true });
}"""
FETCH_STATUS = """async (src) => {
  const response = await fetch(src);
  return [response.status, response.headers.get("content-type")];
}"""


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The real app with its executor, under uvicorn on a loopback port in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings), log_config=None, ws="none", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()

    def started() -> bool:
        assert thread.is_alive(), "the server thread ended before it started"
        return server.started

    wait_until(started, within_s=20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture
def start_server(sqlite_url: str, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Starts the app on SQLite with the local provider and these settings; returns its URL."""

    def start(**overrides: Any) -> str:
        settings = Settings(
            **{
                "data_dir": tmp_path,
                "database_url": sqlite_url,
                "provider": "local",
                "shutdown_grace_s": 2.0,
                "_env_file": None,
                **overrides,
            }
        )
        return stack.enter_context(serving(settings))

    with ExitStack() as stack:
        yield start


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, start_server: Callable[..., str]) -> Iterator[Page]:
    """A fresh tab, closed before the server stops; fails the test on a script error or a
    request that leaves loopback."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    errors: list[str] = []

    def leaves_loopback(request: Request) -> None:
        if not request.url.startswith(("http://127.0.0.1:", "data:", "blob:http://127.0.0.1:")):
            errors.append(f"request off loopback: {request.url}")

    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("request", leaves_loopback)
    yield tab
    context.close()
    assert not errors, errors


def upload_file(page: Page, path: Path, language: str) -> None:
    page.get_by_label("Photo or .txt file").check()
    page.get_by_label("File", exact=True).set_input_files(path)
    page.get_by_label("Language studied").select_option(language)
    page.get_by_role("button", name="Upload and process").click()


def paste_text(page: Page, text: str, language: str) -> None:
    page.get_by_label("Pasted text").check()
    page.get_by_label("Text", exact=True).fill(text)
    page.get_by_label("Language studied").select_option(language)
    page.get_by_role("button", name="Upload and process").click()


def expect_audio_plays(page: Page, selector: str) -> None:
    """The <audio>'s source answers 200 with audio, and the browser reads its duration (under
    auth the page fetches it with the header and plays it from a blob: URL)."""
    audio = page.locator(selector).first
    expect(audio).to_be_attached()
    page.wait_for_function(
        "(audio) => audio.readyState >= 1 && audio.duration > 0", arg=audio.element_handle()
    )
    src = audio.get_attribute("src")
    assert src
    if src.startswith("blob:"):
        return  # fetched by the page with its Authorization header; it plays
    status, content_type = page.evaluate(FETCH_STATUS, src)
    assert status == 200
    assert content_type.startswith("audio/")


def test_upload_follow_live_and_read_results(
    page: Page, start_server: Callable[..., str], tmp_path: Path
) -> None:
    url = start_server()
    page.goto(url)
    expect(page).to_have_title("langproc")
    expect(page.locator("#live")).to_have_text("Live")
    page.evaluate(WATCH_ROWS)

    upload_file(page, SAMPLES / "fr-story.txt", "fr")
    row = page.locator("#rows tr", has_text="fr-story.txt")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("succeeded", timeout=DONE_MS)
    expect(row.locator(".count")).to_have_text("8/8")
    seen = page.evaluate("window.seenStatuses['fr-story.txt']")
    assert seen[0] == "queued", seen
    assert seen[-1] == "succeeded", seen

    row.get_by_role("link").click()
    detail = page.locator("#detail")
    expect(page.locator("#detail-title")).to_have_text("fr-story.txt")
    expect(detail.locator("[data-step=extract_words] .badge")).to_have_text("succeeded")
    expect(detail.locator("[data-step=translate] .note")).to_contain_text("LLM")
    words = page.get_by_role("region", name="Words")
    expect(words.get_by_role("cell", name="boulangerie", exact=True).first).to_be_visible()
    assert words.locator("tbody tr").count() > 50
    expect(detail.locator(".prose").first).to_contain_text("Chaque matin")
    expect_audio_plays(page, "[data-section=audio] audio")
    page.screenshot(path=SCREENSHOT or tmp_path / "page.png")

    story = (SAMPLES / "es-story.txt").read_text()
    paste_text(page, story, "es")
    title = " ".join(story.split()[:8])
    pasted = page.locator("#rows tr", has_text=title)
    expect(pasted.locator(".badge")).to_have_text("succeeded", timeout=DONE_MS)
    pasted.get_by_role("link").click()
    expect(page.locator("#detail-title")).to_have_text(title)
    expect(page.get_by_role("region", name="Words").locator("tbody tr").first).to_be_visible()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(pasted).to_have_count(0)
    expect(page.locator("#detail-title")).to_have_text("Results")
    assert len(httpx.get(f"{url}/api/sourcefiles").json()["items"]) == 1

    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + bytes(512))
    answer = httpx.post(
        f"{url}/api/sourcefiles",
        data={"language": "fr"},
        files={"file": ("setup.exe", exe.read_bytes())},
    )
    assert answer.status_code == 415
    upload_file(page, exe, "fr")
    expect(page.locator("#upload-error")).to_have_text(answer.json()["detail"])
    expect(page.locator("#rows tr")).to_have_count(1)


def test_a_pasted_token_unlocks_the_page_under_jwt(
    page: Page, start_server: Callable[..., str]
) -> None:
    url = start_server(auth="jwt", jwt_secret=SECRET)
    claims = {"sub": "learner-1", "aud": "authenticated", "exp": int(time.time()) + 3600}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    page.goto(url)
    expect(page.locator("#list-error")).to_contain_text("missing credentials")
    expect(page.locator("#auth")).to_have_attribute("open", "")

    page.get_by_label("Bearer token").fill(token)
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("#list-error")).to_be_hidden()
    expect(page.locator("#live")).to_have_text("Live")

    paste_text(page, (SAMPLES / "de-story.txt").read_text(), "de")
    row = page.locator("#rows tr")
    expect(row.locator(".badge")).to_have_text("succeeded", timeout=DONE_MS)
    row.get_by_role("link").click()
    expect(page.locator("[data-step=speak_text] .badge")).to_have_text("succeeded")
    expect_audio_plays(page, "[data-section=audio] audio")

    page.reload()  # the token stays for the tab
    expect(page.locator("#rows tr")).to_have_count(1)
    expect(page.locator("#live")).to_have_text("Live")
