"""A participant completes a short study in headless Chromium: with the keyboard, and by tapping
on a phone-sized screen. Skipped (with the reason) without Playwright or a Chromium."""

import sqlite3

import pytest
from study.studykit import write_study_files

from depthstyle.study import StudyStore, build_design

pytest.importorskip("fastapi")
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture()
def short_study(tmp_path, tiny_model):
    """Two methods, one photo, one painting: 1 real screen + 1 broken + 1 repeat, 2 questions."""
    from depthstyle.pipeline import Stylizer
    from depthstyle.web import create_app
    from depthstyle.web.server import running_server

    root = write_study_files(tmp_path, methods=("adain", "depth"), contents=("books",),
                             styles=("muse",))
    store = StudyStore(root / "s.db")
    store.create_study(build_design("short", {"adain": root / "adain", "depth": root / "depth"},
                                    root / "contents", root / "styles"))
    app = create_app(Stylizer(tiny_model, depth=None), study_store=store)
    with running_server(app) as url:
        yield url, root / "s.db"


def _ready(page, answered: int) -> None:
    """Wait until the page shows its next screen with every picture loaded."""
    page.wait_for_function(
        f"document.getElementById('count').textContent.startsWith('{answered} ') && "
        "document.getElementById('trial').dataset.ready === '1'")


def _answers(db):
    return sqlite3.connect(db).execute(
        "SELECT trial, question, side, rt_ms, check_kind FROM answers ORDER BY trial, question"
    ).fetchall()


def test_a_participant_completes_a_study_with_the_keyboard(short_study, browser):
    url, db = short_study
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(90_000)  # a loaded CI machine can be slow to serve the pictures
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/study/short")
    page.wait_for_selector("#start:enabled")  # the study has loaded
    page.keyboard.press("Enter")
    page.wait_for_selector("#trial:not([hidden])")
    assert page.inner_text("#count") == "0 of 6 answered"
    keys = ["ArrowLeft", "ArrowRight", "1", "2", "ArrowLeft", "ArrowRight"]
    for i, key in enumerate(keys):
        _ready(page, i)
        page.keyboard.press(key)
    page.wait_for_selector("#done:not([hidden])")
    assert page.inner_text("#count") == "6 of 6 answered"
    assert page.get_attribute(".progress", "aria-valuenow") == "100"
    rows = _answers(db)
    assert len(rows) == 6
    assert [r[2] for r in rows] == ["left", "right", "left", "right", "left", "right"]
    assert all(r[3] > 0 for r in rows)  # response times were measured
    assert {r[4].split(":")[0] for r in rows} == {"", "broken", "repeat"}
    # a reload after the end shows the end, and stores nothing new
    page.reload()
    page.wait_for_selector("#done:not([hidden])")
    assert len(_answers(db)) == 6
    assert not errors, errors


def test_a_participant_can_answer_by_tapping_on_a_phone(short_study, browser):
    url, db = short_study
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                              is_mobile=True, device_scale_factor=2)
    page = ctx.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{url}/study/short")
    page.tap("#start")
    page.wait_for_selector("#trial:not([hidden])")
    left = page.locator("#left").bounding_box()
    right = page.locator("#right").bounding_box()
    assert right["y"] > left["y"] + left["height"] - 1  # stacked, not side by side
    assert left["width"] > 300
    for i in range(6):
        _ready(page, i)
        page.locator("#choose-right" if i % 2 else "#choose-left").tap()
    page.wait_for_selector("#done:not([hidden])")
    assert len(_answers(db)) == 6
    ctx.close()


def _started(browser, url: str, pictures: str, handler):
    """A page of the short study with ``handler`` routing the picture requests that match
    ``pictures``, after the participant pressed Enter on the start screen."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(90_000)  # a loaded CI machine can be slow to serve the pictures
    page.route(pictures, handler)
    page.goto(f"{url}/study/short")
    page.wait_for_selector("#start:enabled")  # the study has loaded
    page.keyboard.press("Enter")
    return page


def _first_request(first) -> tuple:
    """A route handler that gives the first request to ``first`` and lets the others through,
    and the list of first requests it took."""
    taken: list = []

    def handler(route):
        if not taken:
            taken.append(route)
            first(route)
        else:
            route.continue_()

    return handler, taken


def test_a_picture_that_fails_to_load_is_asked_for_again(short_study, browser):
    """The first request for a picture fails (connection reset): the page asks again and the
    study goes on. Before, a failed picture left the page waiting for ever."""
    url, db = short_study
    flaky, failed = _first_request(lambda route: route.abort("connectionreset"))
    page = _started(browser, url, "**/image/*/*/left*", flaky)
    _ready(page, 0)
    assert len(failed) == 1 and page.is_hidden("#error")
    page.keyboard.press("ArrowLeft")
    _ready(page, 1)
    assert len(_answers(db)) == 1


def test_a_picture_that_stalls_is_asked_for_again(short_study, browser):
    """The first request for a picture never gets an answer: after the page's 15 s it asks
    again, and the study goes on."""
    url, db = short_study
    # neither answered nor aborted: the first request hangs
    stall_once, stalled = _first_request(lambda route: None)
    page = _started(browser, url, "**/image/*/*/style*", stall_once)
    _ready(page, 0)
    assert len(stalled) == 1 and page.is_hidden("#error")


def test_enter_before_the_study_has_loaded_does_not_leave_an_empty_screen(short_study, browser):
    """A quick participant (or a slow server): Enter before the study's data has arrived. It
    used to show the trial screen with no pictures, for ever (the tests' intermittent stall)."""
    url, db = short_study
    held: list = []
    released = False

    def hold_until_released(route):
        if released:
            route.continue_()
        else:
            held.append(route)

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(90_000)
    page.route("**/participants**", hold_until_released)
    page.goto(f"{url}/study/short")
    page.wait_for_selector("#start")
    assert page.is_disabled("#start")
    page.keyboard.press("Enter")
    page.click("#start", force=True)  # a click on the disabled button does nothing either
    page.wait_for_timeout(200)
    assert page.is_visible("#intro") and page.is_hidden("#trial")
    released = True
    for route in held:
        route.continue_()
    page.wait_for_selector("#start:enabled")
    page.keyboard.press("Enter")
    _ready(page, 0)
    page.keyboard.press("ArrowLeft")
    _ready(page, 1)
    assert len(_answers(db)) == 1
    page.close()


def test_a_picture_that_never_loads_says_so(short_study, browser):
    url, db = short_study
    page = _started(browser, url, "**/image/*/*/right*", lambda route: route.abort("failed"))
    page.wait_for_selector("#error:not([hidden])")
    assert "could not be loaded" in page.inner_text("#error")
    page.keyboard.press("ArrowLeft")  # no answer is taken without the pictures
    page.wait_for_timeout(300)
    assert _answers(db) == []
