"""The website as a reader sees it: every page opened in headless Chromium, with no network.

Run after `make book` (``make test`` does: lint, unit, nbval, book, then this). Screenshots of
every page are saved under ``artifacts/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import pathlib
import re
import threading

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())

PAGES = [TOC["root"]] + [c["file"] for part in TOC["parts"] for c in part["chapters"]]
CHAPTERS = [p for p in PAGES if re.fullmatch(r"book/\d\d_\w+", p)]

pytestmark = pytest.mark.skipif(
    not (SITE / "index.html").exists(), reason="build the site first: make book"
)


@pytest.fixture(scope="module")
def server():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A page that may load only from the local server: the site must work with no network."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.outside = []  # requests that tried to leave the machine

    def guard(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            pg.outside.append(route.request.url)
            route.abort()

    pg.route("**/*", guard)
    pg.missing = []  # files the site links to but does not have
    pg.on("response", lambda r: pg.missing.append(r.url) if r.status >= 400 else None)
    pg.console_errors = []

    def on_error(exc):
        # jupyter-book 1.0.4 with sphinx-thebe 0.3.1 writes thebe's inline config script twice
        # on every page (even on a clean build); the course does not use thebe (it launches
        # Colab), so the redeclaration is harmless. Every other script error fails the test.
        if "THEBE_JS_URL" not in str(exc):
            pg.console_errors.append(str(exc))

    pg.on("pageerror", on_error)
    yield pg
    context.close()


def open_page(page, server, doc):
    page.goto(f"{server}/{doc}.html", wait_until="load")
    # MathJax 3 typesets asynchronously; wait for it where the page has math
    page.wait_for_function(
        "!window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise"
        " && (window.__mj_done || window.MathJax.startup.promise.then(() => window.__mj_done = true)"
        " && window.__mj_done))",
        timeout=30_000,
    )
    page.wait_for_timeout(300)


@pytest.mark.parametrize("doc", PAGES)
def test_page_renders_math_figures_and_no_errors(page, server, doc):
    open_page(page, server, doc)
    text = page.inner_text("article")
    assert "$$" not in text and not re.search(r"\\\((.*?)\\\)", text), "raw TeX on the page"
    assert "Traceback" not in text, "a Python traceback is shown"
    assert not re.search(r"\w+Warning\b", text), "a Python warning is shown"
    broken = page.evaluate(
        "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.src)"
    )
    assert not broken, f"images that did not load: {broken}"
    if page.evaluate("document.querySelectorAll('.math').length") > 0:
        assert page.evaluate("document.querySelectorAll('mjx-container').length") > 0
    assert not page.console_errors, page.console_errors
    assert not page.missing, f"files missing from the site: {page.missing[:5]}"
    assert not page.outside, f"the page tried to reach the network: {page.outside[:3]}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    # the top of a very long page (the API reference) is enough to look at, and fast to take
    width, height = page.evaluate("[document.body.scrollWidth, document.body.scrollHeight]")
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, 20_000)}
    page.screenshot(
        path=str(SHOTS / f"{pathlib.Path(doc).name}.png"), full_page=True, clip=clip, timeout=90_000
    )


@pytest.mark.parametrize("doc", CHAPTERS)
def test_chapter_has_colab_link_and_collapsed_solutions(page, server, doc):
    open_page(page, server, doc)
    repo = CONFIG["repository"]["url"].removeprefix("https://github.com/")
    expected = (
        f"https://colab.research.google.com/github/{repo}/blob/"
        f"{CONFIG['repository']['branch']}/{doc}.ipynb"
    )
    hrefs = page.eval_on_selector_all("a", "els => els.map(e => e.href)")
    assert expected in hrefs, f"no Colab link {expected}"
    solutions = page.query_selector_all("div.solution.dropdown")
    assert len(solutions) >= 3
    for sol in solutions:
        body = sol.query_selector(".cell, p:not(.admonition-title)")
        assert body is not None and not body.is_visible(), "a solution is open by default"
    # one click opens it
    solutions[0].query_selector("button.toggle-button").click()
    page.wait_for_timeout(400)
    assert solutions[0].query_selector(".cell, p:not(.admonition-title)").is_visible()


def _visible_frame(page, slider_box):
    return slider_box.evaluate(
        """box => {
            const imgs = Array.from(box.querySelectorAll('img'));
            const shown = imgs.filter(i => i.offsetParent !== null && i.naturalWidth > 0);
            return shown.map(i => i.src.slice(-200));
        }"""
    )


@pytest.mark.parametrize("doc", CHAPTERS)
def test_prerendered_sliders_change_the_figure(page, server, doc):
    open_page(page, server, doc)
    page.wait_for_timeout(1000)  # the widget manager renders after load
    sliders = page.query_selector_all(".widget-vbox:has(.widget-slider):has(.widget-image)")
    if not sliders:
        pytest.skip(f"{doc} has no pre-rendered slider")
    for box in sliders:
        before = _visible_frame(page, box)
        assert len(before) == 1, "exactly one frame is visible"
        box.scroll_into_view_if_needed()
        handle = box.query_selector(".noUi-handle")
        handle.focus()
        # step towards the side that has room (the slider may start at either end)
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
        page.wait_for_timeout(300)
        after = _visible_frame(page, box)
        assert len(after) == 1 and after != before, "moving the slider did not change the figure"
    assert not page.outside, f"the page tried to reach the network: {page.outside[:3]}"


def test_search_finds_free_energy(page, server):
    page.goto(f"{server}/search.html?q=free+energy", wait_until="load")
    page.wait_for_selector("#search-results li", timeout=30_000)
    results = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
    assert any(re.search(r"/book/\d\d_\w+\.html", r) for r in results), results
