"""Screenshots of the web app for the README: docs/web.png (desktop) and docs/web-phone.png.

Needs the web and test extras and a Chromium (Debian: apt-get install chromium):
    python docs/make_screenshot.py [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import sync_playwright

from depthstyle.web import create_app
from depthstyle.web.server import running_server

DOCS = Path(__file__).resolve().parent


def shoot(page, url: str, out: Path) -> None:
    page.goto(url)
    page.click("#content-examples button[data-id=books]")
    page.click("#style-gallery button[data-id=woman_with_hat]")
    page.wait_for_selector("#result:not([hidden])")
    page.click("#render-full")
    page.wait_for_function("document.querySelector('#result-caption').textContent"
                           ".startsWith('full size')", timeout=120_000)
    page.screenshot(path=str(out), full_page=True)
    print("wrote", out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    with running_server(create_app()) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        shoot(browser.new_page(viewport={"width": 1280, "height": 860}), url, DOCS / "web.png")
        shoot(browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1),
              url, DOCS / "web-phone.png")
        browser.close()


if __name__ == "__main__":
    main()
