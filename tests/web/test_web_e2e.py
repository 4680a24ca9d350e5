"""End to end: the real page in headless Chromium, driven by Playwright, on a real server.

Skipped, with the reason printed, only when Playwright or a Chromium executable is missing
(install it with `apt-get install chromium`, or point DEPTHSTYLE_CHROMIUM at one).
"""

from __future__ import annotations

import pytest

from conftest import chromium_path, make_image
from depthstyle.io import save_image

pytest.importorskip("fastapi")
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium executable found "
                                "(apt-get install chromium, or set DEPTHSTYLE_CHROMIUM)")


@pytest.fixture(scope="module")
def server():
    from depthstyle.pipeline import Stylizer
    from depthstyle.web import create_app
    from depthstyle.web.server import running_server

    with running_server(create_app(Stylizer("depthstyle-lite0", device="cpu"))) as url:
        yield url


def caption(page) -> str:
    return page.inner_text("#result-caption")


def test_upload_slide_render_download(server, browser, tmp_path):
    content = save_image(make_image(120, 160, 3), tmp_path / "photo.png")
    style = save_image(make_image(96, 96, 4), tmp_path / "painting.png")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    page.wait_for_selector("#style-gallery button")  # the catalogue loaded

    page.set_input_files("#content-file", str(content))
    page.set_input_files("#style-file", str(style))
    page.wait_for_function("document.querySelector('#result-caption').textContent"
                           ".startsWith('preview')", timeout=60_000)
    first = page.get_attribute("#result", "src")
    assert first.startswith("data:image/png;base64,")
    assert page.evaluate("document.querySelector('#result').naturalWidth") == 160

    # move the alpha slider with the keyboard, as a person would
    page.focus("#alpha")
    for _ in range(6):
        page.keyboard.press("ArrowLeft")
    assert page.inner_text("#alpha-out") == "0.70"
    page.wait_for_function("(old) => document.querySelector('#result').src !== old", arg=first,
                           timeout=60_000)
    assert page.inner_text("#error") == ""
    assert page.is_visible("#proximity") and page.is_visible("#strength")

    page.click("#render-full")
    page.wait_for_function("document.querySelector('#result-caption').textContent"
                           ".startsWith('full size')", timeout=60_000)
    assert "160×120" in caption(page)
    href = page.get_attribute("#download", "href")
    assert href.startswith("data:image/png;base64,")
    with page.expect_download() as dl:
        page.click("#download")
    saved = tmp_path / "downloaded.png"
    dl.value.save_as(saved)
    from PIL import Image

    assert Image.open(saved).size == (160, 120)
    assert not errors, errors


def test_example_pick_and_error_message(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844})  # phone-sized
    page.goto(server)
    page.wait_for_selector("#content-examples button[data-id=books]")
    # no broken-image icons before there is a result: hidden images stay hidden
    assert not any(page.is_visible(sel) for sel in ("#result", "#proximity", "#strength"))
    page.click("#content-examples button[data-id=books]")
    page.click("#style-gallery button[data-id=mondrian]")
    page.wait_for_function("document.querySelector('#result-caption').textContent"
                           ".includes('books.disparity.png, read as disparity')",
                           timeout=60_000)
    assert "ground-truth map (disparity)" in page.inner_text("#depth-hint")
    assert page.input_value("#depth-kind") == "disparity"  # the select follows the example
    # the bundled model's learned strength module, from the page
    before = page.get_attribute("#result", "src")
    page.select_option("#strength-mode", "learned")
    page.wait_for_function("(old) => document.querySelector('#result').src !== old",
                           arg=before, timeout=60_000)
    assert page.inner_text("#error") == ""
    assert page.is_disabled("#levels input[value='3']")
    # nothing overflows the phone-sized window horizontally
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    bad = tmp_path / "notes.png"
    bad.write_text("not an image at all")
    page.set_input_files("#content-file", str(bad))
    page.wait_for_selector("#error:not([hidden])", timeout=60_000)
    assert "not a recognised image format" in page.inner_text("#error")
