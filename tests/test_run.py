import json

import nbformat
import pytest

from coursekit.run import MARKER, MetricBelowExpected, execute, final_metrics, main, report_final_metrics


def test_report_final_metrics_prints_the_marker_line(capsys):
    report_final_metrics({"mode": "sample", "accuracy": 0.123456789, "epochs": 2})
    out = capsys.readouterr().out
    assert out == MARKER + ' {"mode": "sample", "accuracy": 0.123457, "epochs": 2}\n'


def test_final_metrics_reads_the_last_marker_line_of_an_executed_notebook():
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell("report_final_metrics(...)")
    first.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f'epoch 1\n{MARKER} {{"accuracy": 0.5}}\n')]
    plot = nbformat.v4.new_code_cell("plot()")
    plot.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>"})]
    last = nbformat.v4.new_code_cell("report_final_metrics(...)")
    text = f'{MARKER} {{"accuracy": 0.75, "mode": "full"}}\nbye\n'
    last.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Lesson"), first, plot, last]
    assert final_metrics(nbformat.from_dict(nb)) == {"accuracy": 0.75, "mode": "full"}
    nb.cells = nb.cells[:1]
    assert final_metrics(nb) is None


def test_final_metrics_reads_a_marker_line_sent_in_two_stream_outputs():
    """The kernel can send one print in several stdout messages (seen on a loaded CPU): the line is read whole,
    and stderr between them (a warning) is not part of it."""
    cell = nbformat.v4.new_code_cell("report_final_metrics(...)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=MARKER),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: slow\n"),
        nbformat.v4.new_output("stream", name="stdout", text=' {"bleu": 16.8, "mode": "small"}\nexpected ...\n'),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    assert final_metrics(nbformat.from_dict(nb)) == {"bleu": 16.8, "mode": "small"}


def test_expectations_pass_quietly_when_met(capsys):
    report_final_metrics(
        {"mode": "sample", "valid_accuracy": 0.93, "exp_rmspe": 0.09},
        expect={"valid_accuracy": ">= 0.85", "exp_rmspe": "<= 0.13"},
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "expected in sample mode: valid_accuracy = 0.9300 >= 0.85: ok",
        "expected in sample mode: exp_rmspe = 0.0900 <= 0.13: ok",
    ]


def test_a_missed_floor_or_ceiling_fails_in_sample_mode_naming_metric_value_and_bound(capsys):
    with pytest.raises(
        MetricBelowExpected,
        match=r"valid_accuracy = 0.5000, but this lesson expects >= 0.85; "
        r"exp_rmspe = nan, but this lesson expects <= 0.13\. .*git diff",
    ):
        report_final_metrics(
            {"mode": "sample", "valid_accuracy": 0.5, "exp_rmspe": float("nan")},
            expect={"valid_accuracy": ">= 0.85", "exp_rmspe": ("<=", 0.13)},
        )
    assert capsys.readouterr().out.startswith(MARKER)  # the numbers are printed before the check fails
    assert issubclass(MetricBelowExpected, AssertionError)


def test_expectations_are_only_printed_in_full_mode(capsys):
    report_final_metrics({"mode": "full", "valid_accuracy": 0.5}, expect={"valid_accuracy": 0.85})
    assert "valid_accuracy = 0.5000 >= 0.85: MISSED (not enforced in full mode)" in capsys.readouterr().out


def test_a_wrong_expectation_is_a_clear_error():
    with pytest.raises(KeyError, match=r"'valid_acc'.*\['mode', 'valid_accuracy'\]"):
        report_final_metrics({"mode": "sample", "valid_accuracy": 0.9}, expect={"valid_acc": ">= 0.85"})
    with pytest.raises(ValueError, match="'>= number' for a floor or '<= number' for a ceiling"):
        report_final_metrics({"mode": "sample", "valid_accuracy": 0.9}, expect={"valid_accuracy": "> 0.85"})


def exit_message(*argv):
    """What ``python -m coursekit.run ARGV`` prints when it stops before running anything."""
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in argv])
    return str(e.value.code)


def test_a_malformed_notebook_is_named_with_the_json_line_and_column(tmp_path):
    bad = tmp_path / "lesson.ipynb"
    bad.write_text(
        '{\n "cells": [\n  {"cell_type": "code", "source": "x = 1",,\n  }\n ]\n}\n'
    )  # a hand edit gone wrong
    line, column = 3, 43  # the second comma
    restore = f"Restore it with git (git diff {bad}; git checkout -- {bad}), or fix it in a text editor."
    assert exit_message(bad, "--out", tmp_path / "runs") == (
        f"{bad} is not a notebook: a notebook is a JSON file, and this one is not valid JSON (Expecting property "
        f"name enclosed in double quotes at line {line}, column {column}). A hand edit or a merge conflict "
        f"(<<<<<<<) breaks it so. {restore}"
    )
    bad.write_text("")
    assert "this one is not valid JSON (it is empty)" in exit_message(bad)
    bad.write_text(json.dumps({"cells": []}))
    assert exit_message(bad) == (
        f"{bad} is JSON but not a notebook: a notebook is an object with 'nbformat' and 'cells', this one's keys "
        f"are ['cells']. {restore}"
    )
    bad.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "code"}]}))
    assert exit_message(bad).startswith(f"{bad} is JSON but not a Jupyter notebook nbformat can read (")
    assert not (tmp_path / "runs").exists()  # stopped before anything ran or was written


def test_a_folder_is_named_as_a_folder_with_its_notebooks(tmp_path):
    for name in ("b.ipynb", "a.ipynb", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert exit_message(tmp_path) == (
        f"{tmp_path} is a folder, not a notebook; name one notebook, e.g. make run LESSON={tmp_path / 'a.ipynb'}. "
        f"The notebooks in {tmp_path}: a.ipynb, b.ipynb."
    )


@pytest.mark.kernel
def test_a_dead_kernel_names_the_cell_it_was_running(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Lesson"),
            nbformat.v4.new_code_cell("x = 1"),
            nbformat.v4.new_code_cell("\nimport os  # the process ends, as when it runs out of memory\nos._exit(1)"),
            nbformat.v4.new_code_cell("x = 2"),
        ]
    )
    error = execute(nb, tmp_path / "lesson.ipynb", timeout=60)
    assert str(error).startswith(
        "The kernel died while running cell 2 (counting every cell from 0), which starts "
        "'import os  # the process ends, as when it runs out of memory' ("
    )
    assert "ran out of memory" in str(error) and "Run that cell in JupyterLab" in str(error)


def test_floors_per_mode_are_enforced_in_the_mode_the_lesson_ran_in(capsys):
    expect = {"sample": {"valid_accuracy": ">= 0.85"}, "small": {"valid_accuracy": ">= 0.6"}}
    report_final_metrics({"mode": "small", "valid_accuracy": 0.7}, expect=expect)  # small floor met: passes
    out = capsys.readouterr().out
    assert "expected in small mode: valid_accuracy = 0.7000 >= 0.6: ok" in out
    assert "expected in sample mode: valid_accuracy = 0.7000 >= 0.85: MISSED (not enforced in small mode)" in out
    with pytest.raises(
        MetricBelowExpected, match=r"in small mode .*: valid_accuracy = 0\.5000, but this lesson expects >= 0\.6\."
    ):
        report_final_metrics({"mode": "small", "valid_accuracy": 0.5}, expect=expect)
    with pytest.raises(MetricBelowExpected, match=r"in sample mode .* expects >= 0\.85\."):
        report_final_metrics({"mode": "sample", "valid_accuracy": 0.7}, expect=expect)
    report_final_metrics({"mode": "full", "valid_accuracy": 0.1}, expect=expect)  # full: printed, not enforced
    assert "MISSED (not enforced in full mode)" in capsys.readouterr().out


def test_seed_is_set_in_the_parameters_cell_and_a_notebook_without_one_is_named(tmp_path):
    from coursekit.run import set_parameter

    params = nbformat.v4.new_code_cell("seed = 42\nlr = 1e-3")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os"), params])
    set_parameter(nb, "lesson.ipynb", "seed", 2)
    scope = {}
    exec(nb.cells[1].source, scope)
    assert (scope["seed"], scope["lr"]) == (2, 1e-3) and nb.cells[0].source == "import os"
    with pytest.raises(SystemExit, match="lesson.ipynb has no cell tagged 'parameters'"):
        set_parameter(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), "lesson.ipynb", "seed", 1)
