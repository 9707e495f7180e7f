"""The course as a static web site: every lesson executed, rendered to HTML, with an index and previous/next links.

``python -m coursekit.site [--out site] [notebooks ...]`` (``make site``): the notebooks (all of ``nbs/`` by default)
run in the data mode ``COURSEKIT_MODE`` names, else full on a GPU, and on a CPU each lesson in its own automatic
mode: small where its real data is here (``COURSEKIT_SMALL_DATA`` or the cache), else sample. The index says which
mode each lesson ran in. Each page keeps its figures
and progress tables. A lesson that fails still gets its page (up to the error) and is marked in the index with its
error, the rest of the site is built, and the command exits non-zero.
"""

import argparse
import html
import json
import os
import re
import sys
import time
from pathlib import Path

from coursekit.run import execute as run_notebook, final_metrics

REPO = Path(__file__).resolve().parents[1]
NAV_STYLE = """nav.course{display:flex;justify-content:space-between;padding:.6em 1em;border-bottom:1px solid #ddd;
font-family:system-ui,sans-serif}p.error,.error{color:#b00020;padding:0 1em}"""
STYLE = (
    NAV_STYLE
    + """body{font-family:system-ui,sans-serif;max-width:1100px;margin:0 auto;padding:0 1em}
table.lessons{border-collapse:collapse;width:100%}table.lessons td,table.lessons th{border-bottom:1px solid #ddd;
padding:.4em;text-align:left;vertical-align:top}tr.failed{background:#fdecea}pre{background:#f6f6f6;padding:.5em}"""
)


def inline_markdown(text):
    """A line of markdown as HTML: escaped, with its **bold**, *emphasis* and `code` rendered."""
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*(.+?)\*", r"<em>\1</em>", text)


class Lesson:
    """One notebook of the course: what the index says about it, filled in as it is executed."""

    def __init__(self, path):
        self.path, self.page = Path(path), Path(path).stem + ".html"
        self.seconds, self.error, self.metrics = None, None, None

    def describe(self, nb):
        """Title, what it teaches (the paragraph under the title), the datasets and the headline metric's name."""
        first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
        title = re.search(r"^#\s+(.+)$", first, re.M)
        self.title = title.group(1).strip() if title else self.path.stem
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", first) if p.strip() and not p.startswith("#")]
        self.teaches = " ".join(paragraphs[0].split()) if paragraphs else ""
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        self.data = list(dict.fromkeys(re.findall(r"get_data\(\s*[\"']([\w.-]+)[\"']", code)))
        expect = re.search(r"expect\s*=\s*\{\s*([\"'])(.+?)\1", code)
        self.headline = expect.group(2) if expect else None

    def metric_text(self):
        """``name = value`` of the headline metric (the first one ``expect=`` checks), else every metric."""
        if not self.metrics:
            return ""
        shown = (
            {self.headline: self.metrics[self.headline]}
            if self.headline in self.metrics
            else {k: v for k, v in self.metrics.items() if isinstance(v, (int, float))}
        )
        return ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in shown.items())


def execute(nb, path, timeout):
    """``coursekit.run.execute``, with its error (a failing cell, a timeout, a dead kernel) as one line, or ``None``."""
    error = run_notebook(nb, path, timeout)
    if error is None:
        return None
    text = f"{error.ename}: {error.evalue}" if hasattr(error, "ename") else f"{type(error).__name__}: {error}"
    return text.strip().splitlines()[0]


def render_body(nb):
    """The notebook as HTML: nbconvert's JupyterLab look when it is installed, else a plain rendering."""
    try:
        from nbconvert import HTMLExporter
    except ImportError:
        return None, plain_html(nb)
    page, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    return page, None


def plain_html(nb):
    """A small renderer for when nbconvert is missing: sources and text as text, figures and HTML tables kept."""
    parts = []
    for cell in nb.cells:
        parts.append(f"<pre>{html.escape(cell.source)}</pre>")
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                parts.append(f'<img src="data:image/png;base64,{data["image/png"]}">')
            elif "text/html" in data:
                parts.append(data["text/html"])
            elif "text" in out or "text/plain" in data:
                parts.append(f"<pre>{html.escape(out.get('text') or data['text/plain'])}</pre>")
            elif out.get("output_type") == "error":
                parts.append(f"<pre class=error>{html.escape(out['ename'] + ': ' + out['evalue'])}</pre>")
    return "\n".join(parts)


def nav(lessons, i):
    """Previous / index / next links for lesson ``i``."""
    prev = (
        f'<a href="{lessons[i - 1].page}">&larr; {html.escape(lessons[i - 1].title)}</a>' if i > 0 else "<span></span>"
    )
    nxt = (
        f'<a href="{lessons[i + 1].page}">{html.escape(lessons[i + 1].title)} &rarr;</a>'
        if i + 1 < len(lessons)
        else "<span></span>"
    )
    return f'<nav class="course">{prev}<a href="index.html">All lessons</a>{nxt}</nav>'


def lesson_page(lessons, i, nb):
    """The full HTML page of lesson ``i``, with the course navigation at its top and bottom."""
    lesson, top = lessons[i], nav(lessons, i)
    if lesson.error:
        top += f'<p class="error">This lesson failed: {html.escape(lesson.error)}. Its page stops at the error.</p>'
    page, body = render_body(nb)
    if page is None:
        return (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(lesson.title)}</title>"
            f"<style>{STYLE}</style></head><body>{top}{body}{nav(lessons, i)}</body></html>"
        )
    page = page.replace("</head>", f"<style>{NAV_STYLE}</style></head>", 1)
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + top, page, count=1)
    head, tail = page.rsplit("</body>", 1)
    return head + nav(lessons, i) + "</body>" + tail


def index_page(lessons, mode):
    """The course's front page: one row per lesson, a failed lesson marked with its error."""
    rows = []
    for n, lesson in enumerate(lessons, 1):
        status = (
            f'<span class="error">failed: {html.escape(lesson.error)}</span>'
            if lesson.error
            else html.escape(lesson.metric_text())
        )
        run = "" if lesson.seconds is None else f"{lesson.seconds:.0f} s"
        lesson_mode = str((lesson.metrics or {}).get("mode", "" if mode == "auto" else mode))
        rows.append(
            f'<tr class="{"failed" if lesson.error else "ok"}"><td>{n}</td>'
            f'<td><a href="{lesson.page}">{html.escape(lesson.title)}</a></td>'
            f"<td>{inline_markdown(lesson.teaches)}</td><td>{html.escape(', '.join(lesson.data))}</td>"
            f"<td>{html.escape(lesson_mode)}</td><td>{run}</td><td>{status}</td></tr>"
        )
    failed = sum(1 for lesson in lessons if lesson.error)
    how = (
        "each in small mode where its real data is here, else in sample mode"
        if mode == "auto"
        else f"run in {mode} mode"
    )
    summary = f"{len(lessons)} lessons, {how}" + (f"; {failed} failed" if failed else "")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>The course</title><style>{STYLE}</style>"
        f"</head><body><h1>The course</h1><p>{summary}.</p><table class=lessons><tr><th>#</th><th>Lesson</th>"
        "<th>What it teaches</th><th>Data</th><th>Mode</th><th>Run time</th><th>Headline metric</th></tr>"
        + "\n".join(rows)
        + "</table></body></html>"
    )


def build(notebooks, out, mode, timeout=1800, run=None, log=print):
    """Execute (with ``run``, default ``execute``) and render ``notebooks`` into ``out``; the lessons, each with its
    error (or ``None``)."""
    import nbformat

    run = run or execute
    out.mkdir(parents=True, exist_ok=True)
    lessons = [Lesson(p) for p in notebooks]
    executed = []
    for lesson in lessons:
        nb = nbformat.read(lesson.path, as_version=4)
        lesson.describe(nb)
        log(f"Running {lesson.path} ...", flush=True)
        start = time.time()
        try:
            lesson.error = run(nb, lesson.path, timeout)
        except Exception as e:  # a lesson that cannot even start must not stop the site
            lesson.error = f"{type(e).__name__}: {e}".splitlines()[0]
        lesson.seconds, lesson.metrics = time.time() - start, final_metrics(nb)
        if lesson.error is None and lesson.metrics is None:
            lesson.error = "no FINAL METRICS line: the notebook's last cell should call report_final_metrics"
        log(
            f"  {'FAILED: ' + lesson.error if lesson.error else 'ok'} ({lesson.seconds:.0f} s) {lesson.metric_text()}",
            flush=True,
        )
        executed.append(nb)
    for i, nb in enumerate(executed):
        (out / lessons[i].page).write_text(lesson_page(lessons, i, nb), encoding="utf-8")
    (out / "index.html").write_text(index_page(lessons, mode), encoding="utf-8")
    (out / "lessons.json").write_text(
        json.dumps(
            [
                {
                    "notebook": str(lesson.path),
                    "page": lesson.page,
                    "title": lesson.title,
                    "seconds": lesson.seconds,
                    "metrics": lesson.metrics,
                    "error": lesson.error,
                }
                for lesson in lessons
            ],
            indent=1,
        )
        + "\n"
    )
    return lessons


def main(argv=None):
    from coursekit import datasets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in nbs/")
    parser.add_argument("--out", type=Path, default=Path("site"))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((REPO / "nbs").glob("*.ipynb"))
    missing = [str(p) for p in notebooks if not Path(p).is_file()]
    if missing or not notebooks:
        sys.exit(f"No notebook {', '.join(missing) or 'in nbs/'}; give paths to .ipynb files.")
    mode = datasets.get_mode("auto")  # COURSEKIT_MODE if set, else full on a GPU, else sample
    if os.environ.get("COURSEKIT_MODE", "auto").strip().lower() != "auto" or mode == "full":
        os.environ["COURSEKIT_MODE"] = mode  # the kernels inherit it: every lesson runs in the same mode
    else:
        mode = "auto"  # on a CPU each lesson picks its own: small where its real data is here, else sample
    lessons = build(notebooks, args.out, mode, args.timeout)
    failed = [lesson for lesson in lessons if lesson.error]
    modes = sorted({str(lesson.metrics["mode"]) for lesson in lessons if lesson.metrics and "mode" in lesson.metrics})
    print(f"The site is in {args.out / 'index.html'} ({len(lessons)} lessons; modes: {', '.join(modes) or mode}).")
    if failed:
        sys.exit(f"{len(failed)} lesson(s) failed: " + "; ".join(f"{f.path.name}: {f.error}" for f in failed))


if __name__ == "__main__":
    main()
