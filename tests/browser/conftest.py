"""End-to-end tests: Playwright drives Debian's Chromium against pytest-django's live server.

Every test here is marked `browser`; `pytest -m "not browser"` leaves them out. Without
Chromium they are skipped with the reason, except on CI (CI set), where they fail.
"""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect, sync_playwright

from ..factories import AgentFactory, GroupFactory, OrganizationFactory, RequesterFactory

# Playwright's sync API keeps an asyncio event loop in this thread, and Django refuses ORM
# calls from a thread with a running loop. Test code calls the ORM only between browser
# actions, never at the same time, so allowing it is safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "pw-for-tests-1"  # what tests.factories gives every user
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        reason = "Chromium not installed: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (the browser tests must run on CI)", pytrace=False)
        pytest.skip(reason)
    expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_page(browser, live_server):
    """Opens a page in a fresh browser context (its own cookies: one person each)."""
    contexts = []

    def make(locale: str = "en-US", width: int = 1280, height: int = 900):
        context = browser.new_context(
            base_url=live_server.url, locale=locale, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def log_in():
    """Logs in through the login form, as a person would, and waits for the landing page."""

    def submit(page, user, password: str = PASSWORD):
        page.goto("/login/")
        form = page.locator("main form:has(input[name=password])")
        form.locator("input[name=username]").fill(user.username)
        form.locator("input[name=password]").fill(password)
        form.locator("button[type=submit]").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    return submit


@pytest.fixture
def screenshot():
    """Saves a full-page PNG to var/screenshots/<lang>-<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, lang: str, name: str) -> Path:
        path = SCREENSHOTS / f"{lang}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def helpdesk(transactional_db):
    """One client organization, an L1 group with its agent, an L2 group, and a requester."""
    organization = OrganizationFactory(slug="acme", name="Acme Manufacturing")
    agent = AgentFactory(username="agent.li", first_name="Wei", last_name="Li")
    l2_agent = AgentFactory(username="agent.novak", first_name="Jana", last_name="Novak")
    return SimpleNamespace(
        organization=organization,
        agent=agent,
        l2_agent=l2_agent,
        l1=GroupFactory(slug="service-desk", name="Service Desk", tier=1, members=[agent]),
        l2=GroupFactory(slug="desktop", name="Desktop Support", tier=2, members=[l2_agent]),
        requester=RequesterFactory(
            username="tom.baker", first_name="Tom", last_name="Baker", organization=organization
        ),
    )
