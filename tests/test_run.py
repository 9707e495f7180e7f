import nbformat

from coursekit.run import MARKER, final_metrics, report_final_metrics


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
    last.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f'{MARKER} {{"accuracy": 0.75, "mode": "full"}}\nbye\n')]
    nb.cells = [nbformat.v4.new_markdown_cell("# Lesson"), first, plot, last]
    assert final_metrics(nbformat.from_dict(nb)) == {"accuracy": 0.75, "mode": "full"}
    nb.cells = nb.cells[:1]
    assert final_metrics(nb) is None
