"""JupyterLab in a real browser (Debian's Chromium, driven by Selenium and chromium-driver), as a student uses it:
lesson 1 opens, its first cells run up to the first training, then the "classify your own photo" cell. Checks
that the kernel starts, the data-mode line prints, the progress display updates in place and ends as a table,
the upload widget renders, and the browser console shows no errors. Screenshots go to ``runs/browser/``.

JupyterLab serves a copy of the lesson from a temporary folder (so no output is saved into ``nbs/``), on
127.0.0.1, a free port and a random token, with the course's settings (``jupyter-config/``, as ``make lab``), and
is shut down however the test ends. Without Chromium, chromium-driver or Selenium the test skips and says why.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.kernel]

REPO = Path(__file__).resolve().parents[1]
LESSON = REPO / "nbs" / "lesson01_dogs_cats.ipynb"
SHOTS = REPO / "runs" / "browser"
INSTALL = "apt-get install -y chromium chromium-driver; pip install selenium"


def cells_of(notebook):
    return json.loads(notebook.read_text())["cells"]


def first_training_cell(cells):
    return next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and ".fit" in "".join(c["source"]))


def cell_with(cells, text):
    return next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and text in "".join(c["source"]))


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through chromium-driver, keeping the console log; skipped (with the reason) without them."""
    webdriver = pytest.importorskip("selenium.webdriver", reason=f"Selenium is not installed ({INSTALL})")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        print(f"SKIP: Chromium or chromium-driver is not installed ({INSTALL})", file=sys.stderr)
        pytest.skip(f"Chromium or chromium-driver is not installed ({INSTALL})")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--disable-gpu",
        "--no-first-run",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``(url, token)`` of a JupyterLab serving a folder with a copy of lesson 1; shut down at the end, always."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copy(LESSON, work / LESSON.name)
    port, token = free_port(), secrets.token_hex(16)
    config = os.pathsep.join(
        [str(REPO / "jupyter-config")]
        + ([os.environ["JUPYTER_CONFIG_PATH"]] if os.environ.get("JUPYTER_CONFIG_PATH") else [])
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_PATH": config,
        "COURSEKIT_MODE": "sample",
        "JUPYTER_RUNTIME_DIR": str(work / ".runtime"),
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        f"--LabApp.workspaces_dir={work / '.workspaces'}",
    ]
    cmd += ["--allow-root"] if os.getuid() == 0 else []
    log = open(work / "jupyterlab.log", "w")
    server = subprocess.Popen(cmd, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if get(f"{url}/api/status?token={token}") == 200:
                    break
            except OSError:
                pass
            said = (work / "jupyterlab.log").read_text
            assert server.poll() is None, "JupyterLab exited at start:\n" + said()
            assert time.time() < deadline, "JupyterLab did not answer in 90 s:\n" + said()
            time.sleep(0.5)
        yield url, token
    finally:
        try:  # the server stops its kernels and exits
            req = urllib.request.Request(
                f"{url}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}
            )
            urllib.request.urlopen(req, timeout=10).close()
            server.wait(timeout=20)
        except Exception:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()
        assert server.poll() is not None


def shot(driver, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / name))


def wait_for(driver, script, timeout, what, *args):
    """Poll the page with ``script`` until it returns something true; its value. Fails naming ``what``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.25)
    shot(driver, "failed.png")
    pytest.fail(f"{what} not seen in {timeout} s (screenshot runs/browser/failed.png)")


CELL = "return document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')[arguments[0]]"
PROMPT = CELL + "?.querySelector('.jp-InputPrompt')?.textContent.trim()"
OUTPUT_HTML = CELL + "?.querySelector('.jp-OutputArea')?.innerHTML || ''"


def run_cell(driver, i):
    """Select cell ``i`` (click its prompt, in command mode) and press Shift+Enter, as a student does."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(5):  # the page may still move (outputs above growing) between the scroll and the click
        driver.execute_script(CELL + ".scrollIntoView({block: 'center'})", i)
        time.sleep(0.3)
        prompt = driver.execute_script(CELL + ".querySelector('.jp-InputPrompt')", i)  # not the collapser beside it
        ActionChains(driver).move_to_element(prompt).click().perform()
        if driver.execute_script(CELL + ".classList.contains('jp-mod-active')", i):
            break
    else:
        shot(driver, "failed.png")
        pytest.fail(f"clicking cell {i}'s prompt did not select it (screenshot runs/browser/failed.png)")
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()


def done(driver, i, timeout, what):
    """Wait until code cell ``i`` has run: its prompt shows ``[n]:`` (not ``[*]:``)."""
    wait_for(
        driver,
        "const p = " + PROMPT[len("return ") :] + "; return /\\[\\d+\\]/.test(p || '')",
        timeout,
        f"{what} (cell {i}) finishing",
        i,
    )


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_lesson1_runs_in_jupyterlab_in_chromium(browser, lab):
    started = time.time()
    url, token = lab
    cells = cells_of(LESSON)
    train, upload = first_training_cell(cells), cell_with(cells, "upload_classifier(")
    interp = cell_with(cells, "ClassificationInterpretation.from_learner")
    browser.get(f"{url}/lab/tree/{LESSON.name}?token={token}")
    wait_for(browser, CELL + " && true", 90, "the notebook's cells", len(cells) - 1)
    # the kernel starts: the kernel name in the toolbar, and the status bar says the kernel is idle
    wait_for(
        browser,
        "return document.body.innerText.includes('Python 3 (ipykernel)') && "
        "/\\|\\s*Idle/.test(document.querySelector('.jp-StatusBar-Widget, #jp-main-statusbar')"
        "?.innerText || document.body.innerText)",
        90,
        "the kernel starting (Python 3, Idle)",
    )
    shot(browser, "01_lesson1_opened.png")
    run_cell(browser, 0)  # the title; then Shift+Enter down to the first training, one cell at a time
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(train):
        time.sleep(0.1)
        ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    mode_cell = cell_with(cells, "describe_mode(")
    done(browser, mode_cell, 120, "the imports and data mode")
    assert "data mode: sample" in browser.execute_script(CELL + ".innerText", mode_cell)
    # the progress display, live: a progress bar in the training cell's output, replaced in place
    saw_bar = wait_for(
        browser,
        "const h = " + OUTPUT_HTML[len("return ") :] + "; return h.includes('<progress')",
        240,
        "the live progress bar of the first training",
        train,
    )
    shot(browser, "02_training_progress.png")
    done(browser, train, 300, "the first training")
    # each display (Precompute's bar over the body's activations, then fit's bars and table) is one output updated in
    # place: what stays visible is the table alone, not a bar or a row per update
    shown = browser.execute_script(
        "return [..." + CELL[len("return ") :] + ".querySelectorAll('.jp-OutputArea-child')]"
        ".filter(o => o.innerText.trim()).length",
        train,
    )
    final = browser.execute_script(OUTPUT_HTML, train)
    assert saw_bar and shown == 1, f"the training cell should end showing its table alone, not {shown} outputs"
    assert "<table" in final and "<progress" not in final and "valid_loss" in final
    assert len(re.findall(r"<tr", final)) == 1 + 2  # the header and two epochs
    shot(browser, "03_trained_table.png")
    for i in (interp, upload):  # the interpretation it needs, then "classify your own photo"
        run_cell(browser, i)
        done(browser, i, 120, "the upload cell's inputs" if i == interp else "the upload cell")
    wait_for(
        browser,
        CELL + ".querySelector('.widget-upload, .jupyter-widget-FileUpload, input[type=file]')",
        30,
        "the upload widget",
        upload,
    )
    text = browser.execute_script(CELL + ".querySelector('.jp-OutputArea').innerText", upload)
    assert "Classify your own photo" in text and "Your photo" in text, text
    shot(browser, "04_upload_widget.png")
    errors = console_errors(browser)
    assert not errors, "errors in the browser console:\n" + "\n".join(e["message"] for e in errors)
    print(f"browser test: lesson 1 up to its first training and the upload widget in {time.time() - started:.0f} s")


def test_the_rendered_site_opens_in_the_browser(browser):
    index = REPO / "site" / "index.html"
    if not index.is_file():
        pytest.skip("no site/index.html: run `make site` first to check the rendered course in the browser")
    browser.get(index.as_uri())
    rows = browser.find_elements("css selector", "table.lessons tr")
    assert len(rows) >= 2 and "Lesson" in browser.title + browser.page_source
    shot(browser, "05_site_index.png")
    first = rows[1].find_element("css selector", "a").get_attribute("href")
    browser.get(first)
    assert browser.find_elements("css selector", "nav.course a[href='index.html']")
    shot(browser, "06_site_lesson.png")
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight / 3)")
    shot(browser, "07_site_lesson_figures.png")
