"""Browser tests: headless Chromium (Debian's ``chromium``, driven by Playwright) against the
whole system started by ``skinguard-dev run``. Screenshots of every screen, at 1280 px and at a
tablet's 768 px, are written to ``artifacts/screenshots/`` (``SKINGUARD_ARTIFACTS`` overrides)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from support import images
from support.running_system import RunningSystem, start_system

pytestmark = pytest.mark.integration

ARTIFACTS = Path(os.environ.get("SKINGUARD_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}
# A screen's content may take over Playwright's default 5 s to appear on 2 cores shared with a
# training run and the other services; a passing check still returns as soon as it holds.
expect.set_options(timeout=15_000)


def chromium_executable() -> str:
    found = os.environ.get("SKINGUARD_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Chromium is missing: `make browser` installs Debian's chromium (make test does it first)")
    return found


@pytest.fixture(scope="session")
def system(tmp_path_factory) -> Iterator[RunningSystem]:
    running = start_system(
        tmp_path_factory.mktemp("browser"),
        # Every trained version is rejected by the gate, so promotion is the admin's decision here.
        {"SKINGUARD_GATE_MIN_AUC": "1", "SKINGUARD_GATE_MAX_ECE": "0"},
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module: Playwright's sync API runs an event loop of its own while it is open, and the
    # async tests of the other folders need none running between modules.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_executable(), args=["--no-sandbox"])
        yield launched
        launched.close()


class Api:
    """The services' own APIs, called with a role's key: how tests set up and check state."""

    def __init__(self, system: RunningSystem) -> None:
        self.system = system

    def call(self, role: str, method: str, service: str, path: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.system.keys[role]}"}
        return httpx.request(method, self.system.urls[service] + path, headers=headers, timeout=30, **kwargs)

    def upload(self, role: str, seed: int, **fields: str) -> dict:
        files = {"image": (f"lesion-{seed}.jpg", images.jpeg(seed=seed), "image/jpeg")}
        answer = self.call(role, "POST", "ingestion", "/api/images/upload", files=files, data=fields)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def label(self, role: str, image_id: str, label: str, confidence: float | None = None) -> None:
        body = {"label": label, "confidence": confidence}
        answer = self.call(role, "POST", "annotation", f"/api/images/{image_id}/annotate", json=body)
        assert answer.status_code in (200, 201), answer.text


@pytest.fixture(scope="session")
def api(system) -> Api:
    return Api(system)


@pytest.fixture
def sign_in(system, browser) -> Iterator[Callable[[str], Page]]:
    """``sign_in(role)``: a fresh browser context signed in with that role's key, on its first screen."""
    contexts = []

    def open_as(role: str) -> Page:
        context = browser.new_context(viewport=DESKTOP)
        contexts.append(context)
        page = context.new_page()
        page.goto(system.urls["webapp"] + "/sign-in")
        page.get_by_label("API key").fill(system.keys[role])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("header#top:not([hidden])")
        return page

    yield open_as
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    """The screen at 1280 px and at 768 px (a tablet), as artefacts."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size(TABLET)
    page.screenshot(path=str(folder / f"{name}-768.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('button, input, select, textarea, a[href], [tabindex]')]
  .filter((el) => !el.closest('[hidden]'))
  .filter((el) => {
    const named = el.getAttribute('aria-label') || (el.labels && el.labels.length)
      || el.textContent.trim() || el.getAttribute('title') || el.querySelector('img[alt]:not([alt=""])');
    return !named;
  })
  .map((el) => el.outerHTML.slice(0, 120))"""


def unlabelled_controls(page: Page) -> list[str]:
    """Controls without an accessible name (no label, aria-label or text): must be none."""
    return page.evaluate(UNLABELLED_CONTROLS)
