"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Fixtures, for every test under tests/e2e (each one is marked ``e2e`` automatically):

- ``page``: a fresh browser context per test (English, 1280x900, desktop), whose ``base_url``
  is the live server, so ``page.goto("/points/")`` works. Requesting it starts the live server
  and gives the test a transactional database (rows the test creates are visible to the server).
- ``phone_page``: the same at phone size (390x844, mobile, touch).
- ``make_page(width=, height=, locale=, mobile=)``: more pages, each in its own context
  (its own cookies), e.g. two members side by side or a Chinese browser.
- ``login(page, email, password, next_url=None)``: signs in through the allauth form and waits
  until the signed-in header is there; fails with the page's error text if it is not.
- ``shot(page, "name")``: a full-page PNG at test-results/e2e/<test name>/<name>.png.
  When a test fails, every page it opened is saved there as failure-<n>.png as well.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Error, Page, Playwright, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
E2E_DIR = Path(__file__).resolve().parent
OPEN_PAGES = pytest.StashKey[list[Page]]()

# Servers we start listen on the loopback address only; pytest-django reads this when the
# (session-wide) live_server fixture starts, and "localhost" could also mean ::1 to Chromium.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, not only this directory's.
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


def _artifacts_dir(item: pytest.Item) -> Path:
    return item.config.rootpath / "test-results" / "e2e" / re.sub(r"[^A-Za-z0-9_.-]+", "-", item.name).strip("-")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    report = yield
    if report.failed and report.when in {"setup", "call"}:
        saved = []
        for number, page in enumerate(item.stash.get(OPEN_PAGES, []), start=1):
            path = _artifacts_dir(item) / f"failure-{number}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
            except Error as exc:  # a crashed or closed page must not hide the real failure
                saved.append(f"{path}: not saved ({exc.message})")
            else:
                saved.append(f"{path} ({page.url})")
        if saved:
            report.sections.append(("e2e screenshots", "\n".join(saved)))
    return report


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    # Playwright's sync API runs an asyncio event loop in this (the test) thread and leaves it
    # marked as running between calls. Django then takes the test thread for async code and
    # refuses every ORM call in it (SynchronousOnlyOperation): the test's own setup, and
    # pytest-django's flush after each transactional test. Nothing here is really
    # concurrent with that loop (it only talks to the browser), so the guard is lifted
    # while the driver is alive. The live server answers requests in its own threads.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as driver:
            yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    # Shared CI machines and laptops running the whole suite are slow at times; an assertion that
    # retries for 10 s instead of 5 still fails fast enough when the page really is wrong.
    expect.set_options(timeout=10_000)
    browser = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(autouse=True)
def _fresh_artifacts_dir(request: pytest.FixtureRequest) -> None:
    """Screenshots in test-results/e2e/<test> are always from the latest run of that test."""
    shutil.rmtree(_artifacts_dir(request.node), ignore_errors=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """A real hash costs ~0.5 s; each signed-in test pays it twice (the factory, then the login form)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_page(request: pytest.FixtureRequest, browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """Open a page in a new browser context (own cookies) pointed at the live server."""
    contexts = []
    pages = request.node.stash.setdefault(OPEN_PAGES, [])

    def open_page(*, width: int = 1280, height: int = 900, locale: str = "en", mobile: bool = False) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport={"width": width, "height": height},
            is_mobile=mobile,
            has_touch=mobile,
        )
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(make_page: Callable[..., Page]) -> Page:
    return make_page(**DESKTOP)


@pytest.fixture
def phone_page(make_page: Callable[..., Page]) -> Page:
    return make_page(**PHONE, mobile=True)


@pytest.fixture
def login() -> Callable[..., None]:
    def sign_in(page: Page, email: str, password: str, *, next_url: str | None = None) -> None:
        page.goto("/accounts/login/" + (f"?{urlencode({'next': next_url})}" if next_url else ""))
        form = page.locator("form").filter(has=page.locator("input[name=password]"))
        form.locator("input[name=login]").fill(email)
        form.locator("input[name=password]").fill(password)
        form.locator("button[type=submit]").click()
        # The sign-out form is in the header of every page once signed in (hidden on phones).
        signed_in = page.locator(".header-user form[action='/accounts/logout/']")
        try:
            expect(signed_in).to_be_attached()
        except AssertionError:
            pass  # failed below, outside this block, so the report shows the form's errors, not an ARIA dump
        else:
            return
        errors = page.locator(".errorlist, .alert").all_inner_texts()
        pytest.fail(f"signing in as {email} failed at {page.url}: {errors or 'no error shown'}")

    return sign_in


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    def save(page: Page, name: str) -> Path:
        path = _artifacts_dir(request.node) / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
