"""``make site`` (coursekit.site) on two tiny generated notebooks, one of which fails: the index, the links between
lessons, and how a failure is marked. The unit tests run the cells in this process; the kernel test runs the
command as ``make site`` does, through real kernels."""

import contextlib
import io
import re
import subprocess
import sys
import traceback

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from coursekit import site

REPORT = (
    "from coursekit.run import report_final_metrics\n"
    'report_final_metrics({"valid_accuracy": 0.9375, "valid_loss": 0.2, "mode": "sample"}, '
    'expect={"valid_accuracy": ">= 0.5"})'
)


def lesson(path, title, teaches, cells):
    nb = new_notebook(
        cells=[new_markdown_cell(f"# {title}\n\n{teaches}\nSecond line.\n\n## More\n\nDetail.")]
        + [new_code_cell(c) for c in cells]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebooks(tmp_path):
    """Lesson A works (prints, shows a table, reports its metrics); lesson B stops with an error."""
    good = lesson(
        tmp_path / "lesson01_tiny.ipynb",
        "Lesson 1: tiny",
        "We add two numbers.",
        [
            "def get_data(name, mode=None):\n    return name\npath = get_data('tinyset')\nprint('data mode: sample')",
            "from IPython.display import HTML\ndisplay(HTML('<table><tr><td>epoch</td></tr></table>'))",
            REPORT,
        ],
    )
    bad = lesson(
        tmp_path / "lesson02_broken.ipynb",
        "Lesson 2: broken",
        "We divide by zero.",
        ["def get_data(name):\n    return name\npath = get_data( 'otherset')", "1 / 0", REPORT],
    )
    return [good, bad]


def run_here(nb, path, timeout):
    """A stand-in for the kernel: run each cell in one namespace, keeping prints and displayed HTML as outputs;
    stop at an error."""
    shown = []
    namespace = {
        "display": lambda obj: shown.append(
            nbformat.v4.new_output("display_data", data={"text/html": obj._repr_html_(), "text/plain": repr(obj)})
        )
    }
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        out, shown[:] = io.StringIO(), []
        try:
            with contextlib.redirect_stdout(out):
                exec(cell.source, namespace)
        except Exception as e:
            cell.outputs = [
                nbformat.v4.new_output(
                    "error", ename=type(e).__name__, evalue=str(e), traceback=traceback.format_exc().splitlines()
                )
            ]
            return f"{type(e).__name__}: {e}"
        printed = [nbformat.v4.new_output("stream", name="stdout", text=out.getvalue())] if out.getvalue() else []
        cell.outputs = shown + printed
    return None


def build(notebooks, tmp_path):
    return site.build(notebooks, tmp_path / "site", "sample", run=run_here, log=lambda *a, **k: None)


def test_the_index_lists_each_lesson_with_title_teaching_data_time_and_headline_metric(notebooks, tmp_path):
    lessons = build(notebooks, tmp_path)
    index = (tmp_path / "site" / "index.html").read_text()
    good = re.search(r'<tr class="ok">(.*?)</tr>', index).group(1)
    assert '<a href="lesson01_tiny.html">Lesson 1: tiny</a>' in good
    assert "We add two numbers. Second line." in good and "Detail" not in good
    assert "<td>tinyset</td>" in good and re.search(r"<td>\d+ s</td>", good)
    assert "valid_accuracy = 0.9375" in good and "valid_loss" not in good  # the metric the lesson checks
    assert lessons[0].metrics == {"valid_accuracy": 0.9375, "valid_loss": 0.2, "mode": "sample"}
    assert "2 lessons, run in sample mode; 1 failed" in index


def test_each_lesson_page_links_to_the_previous_and_next_lessons_and_the_index(notebooks, tmp_path):
    build(notebooks + [lesson(tmp_path / "lesson03_end.ipynb", "Lesson 3: end", "The end.", [REPORT])], tmp_path)
    pages = {
        p: (tmp_path / "site" / p).read_text()
        for p in ("lesson01_tiny.html", "lesson02_broken.html", "lesson03_end.html")
    }
    links = {p: re.findall(r'<nav class="course">.*?</nav>', text)[0] for p, text in pages.items()}
    assert 'href="lesson02_broken.html">Lesson 2: broken &rarr;' in links["lesson01_tiny.html"]
    assert "&larr;" not in links["lesson01_tiny.html"]
    assert 'href="lesson01_tiny.html">&larr; Lesson 1: tiny' in links["lesson02_broken.html"]
    assert 'href="lesson03_end.html">Lesson 3: end &rarr;' in links["lesson02_broken.html"]
    assert "&rarr;" not in links["lesson03_end.html"]
    assert all('href="index.html"' in nav for nav in links.values())
    assert all(text.count('<nav class="course">') == 2 for text in pages.values())  # at the top and the bottom
    assert "<td>epoch</td>" in pages["lesson01_tiny.html"] and "data mode: sample" in pages["lesson01_tiny.html"]


def test_a_failing_lesson_is_marked_with_its_error_and_the_rest_of_the_site_is_built(notebooks, tmp_path):
    lessons = build(notebooks, tmp_path)
    assert [lesson.error for lesson in lessons] == [None, "ZeroDivisionError: division by zero"]
    index = (tmp_path / "site" / "index.html").read_text()
    failed = re.search(r'<tr class="failed">(.*?)</tr>', index).group(1)
    assert "Lesson 2: broken" in failed and "failed: ZeroDivisionError: division by zero" in failed
    page = (tmp_path / "site" / "lesson02_broken.html").read_text()
    assert "This lesson failed: ZeroDivisionError: division by zero" in page and "ZeroDivisionError" in page


def test_the_command_builds_the_site_and_exits_non_zero_when_a_lesson_fails(notebooks, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(site, "execute", run_here)
    monkeypatch.setenv("COURSEKIT_MODE", "sample")
    with pytest.raises(SystemExit) as done:
        site.main(["--out", str(tmp_path / "out"), *map(str, notebooks)])
    assert "1 lesson(s) failed: lesson02_broken.ipynb: ZeroDivisionError" in str(done.value.code)
    assert (tmp_path / "out" / "index.html").is_file() and (tmp_path / "out" / "lesson01_tiny.html").is_file()
    assert "The site is in" in capsys.readouterr().out
    site.main(["--out", str(tmp_path / "out"), str(notebooks[0])])  # all good: no exit status


def test_on_a_cpu_without_a_mode_each_lesson_picks_its_own_and_the_index_says_which(notebooks, tmp_path, monkeypatch):
    """``make site`` on a laptop: lessons with small real data here run in small mode, the others in sample mode;
    nothing forces one mode on every kernel, and each row names the mode its lesson reported."""
    seen = []

    def run_and_note_mode(nb, path, timeout):
        seen.append(site.os.environ.get("COURSEKIT_MODE"))
        return run_here(nb, path, timeout)

    monkeypatch.setattr(site, "execute", run_and_note_mode)
    monkeypatch.delenv("COURSEKIT_MODE", raising=False)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    site.main(["--out", str(tmp_path / "out"), str(notebooks[0])])
    assert seen == [None]
    index = (tmp_path / "out" / "index.html").read_text()
    assert "1 lessons, each in small mode where its real data is here, else in sample mode" in index
    assert "<th>Mode</th>" in index and "<td>sample</td>" in index


def test_the_headline_metric_is_the_first_one_the_lesson_expects_whatever_its_name(tmp_path):
    code = (
        "report_final_metrics({'dot product': 0.9, '+ biases + y-range': 0.74, 'mode': mode},\n"
        "                     expect={'+ biases + y-range': '<= 0.8', 'embedding net': '<= 0.95'})"
    )
    found = site.Lesson(lesson(tmp_path / "lesson06_x.ipynb", "Lesson 6", "Ratings.", [code]).as_posix())
    found.describe(nbformat.read(found.path, as_version=4))
    found.metrics = {"dot product": 0.9, "+ biases + y-range": 0.74, "mode": "sample"}
    assert found.metric_text() == "+ biases + y-range = 0.74"


def test_the_index_renders_the_markdown_of_what_a_lesson_teaches():
    assert site.inline_markdown("a set of **tags**: forest *and* `road` <b>") == (
        "a set of <strong>tags</strong>: forest <em>and</em> <code>road</code> &lt;b&gt;"
    )


def test_a_lesson_that_reports_no_final_metrics_is_marked(tmp_path):
    quiet = lesson(tmp_path / "lesson01_quiet.ipynb", "Quiet", "Says nothing.", ["x = 1"])
    assert "no FINAL METRICS line" in build([quiet], tmp_path)[0].error


def test_without_nbconvert_the_pages_are_plain_html_with_outputs_kept(notebooks, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nbconvert", None)  # import nbconvert now raises ImportError
    build(notebooks, tmp_path)
    page = (tmp_path / "site" / "lesson01_tiny.html").read_text()
    assert "<td>epoch</td>" in page and "data mode: sample" in page and 'href="lesson02_broken.html"' in page


@pytest.mark.kernel
def test_make_site_runs_the_notebooks_in_kernels_and_keeps_figures_and_tables(notebooks, tmp_path):
    figure = (
        "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]);"
    )
    nb = nbformat.read(notebooks[0], as_version=4)
    nb.cells.insert(2, new_code_cell(figure))
    nbformat.write(nb, notebooks[0])
    done = subprocess.run(
        [sys.executable, "-m", "coursekit.site", "--out", str(tmp_path / "site"), *map(str, notebooks)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "COURSEKIT_MODE": "sample"},
    )
    assert done.returncode != 0 and "lesson02_broken.ipynb: ZeroDivisionError" in done.stderr, done.stderr
    page = (tmp_path / "site" / "lesson01_tiny.html").read_text()
    assert "data:image/png;base64," in page and "<td>epoch</td>" in page and "valid_accuracy" in page
    index = (tmp_path / "site" / "index.html").read_text()
    assert "valid_accuracy = 0.9375" in index and "failed: ZeroDivisionError: division by zero" in index
