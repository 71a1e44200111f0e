"""Makes the README's screenshots from the demo data.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--keep]

Loads the demo into a throwaway data directory (its own SQLite database), serves it on a free
port, logs in with Playwright and Debian's Chromium as a demo agent and a demo requester, saves
docs/screenshots/desk-queue.png and docs/screenshots/portal.png, and stops the server. The PNGs
are made smaller with pngquant and optipng when they are installed.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
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
PASSWORD = "firstline-demo"
AGENT = "agent.jones"  # L1, Service Desk; English (agent.li and agent.zhang use Chinese)
REQUESTER = "karen.hughes"  # an organization manager with a few requests
VIEWPORT = {"width": 1280, "height": 800}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The server stopped (exit code {server.returncode}).")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"The server did not answer at {url} within {timeout:.0f} s.")


def log_in(page, username: str) -> None:
    page.goto("/login/")
    form = page.locator("main form:has(input[name=password])")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def optimize(path: Path) -> None:
    """Makes the PNG smaller with pngquant (lossy, 256 colours) and optipng, if installed."""
    if shutil.which("pngquant"):
        subprocess.run(
            ["pngquant", "--force", "--skip-if-larger", "--strip", "--output", path, path],
            check=False,
        )
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", "-strip", "all", path], check=False)


def new_page(browser, base_url: str, username: str):
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="en-US")
    page = context.new_page()
    log_in(page, username)
    return page


def save(page, path: Path) -> Path:
    page.wait_for_load_state("networkidle")
    lang = page.locator("html").get_attribute("lang")
    if lang != "en":
        sys.exit(f"{page.url} is in '{lang}', not English: choose another demo login.")
    page.screenshot(path=str(path))
    optimize(path)
    return path


def take_screenshots(base_url: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            # The agent's first group queue: a full page of tickets in every state.
            page = new_page(browser, base_url, AGENT)
            page.locator('nav.sidebar a[href^="/desk/queue/group-"]').first.click()
            page.wait_for_url("**/desk/queue/group-*/")
            shots.append(save(page, out / "desk-queue.png"))
            page.context.close()

            page = new_page(browser, base_url, REQUESTER)
            page.goto("/")
            shots.append(save(page, out / "portal.png"))
            page.context.close()
        finally:
            browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--keep", action="store_true", help="Keep the demo's data directory.")
    args = parser.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit("Chromium not installed: apt-get install chromium")

    data_dir = Path(tempfile.mkdtemp(prefix="firstline-screenshots-"))
    env = {**os.environ, "FIRSTLINE_DATA_DIR": str(data_dir), "DEBUG": "true"}
    env.pop("DATABASE_URL", None)  # the throwaway SQLite database in data_dir
    env.pop("SECRET_KEY", None)  # DEBUG makes one in data_dir
    firstline = [sys.executable, "-m", "firstline"]
    server = None
    try:
        subprocess.run([*firstline, "demo", "--no-serve"], env=env, cwd=ROOT, check=True)
        port = free_port()
        server = subprocess.Popen(
            [*firstline, "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base_url}/healthz", server)
        for path in take_screenshots(base_url, args.out):
            print(
                f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
                f"{path.stat().st_size // 1024} KB"
            )
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if args.keep:
            print(f"Demo data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
