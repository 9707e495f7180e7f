import io

from coursekit.progress import ProgressDisplay, format_time


def test_terminal_output_is_plain_table_rows():
    out = io.StringIO()  # not a tty: no bar lines, just the table
    display = ProgressDisplay(out=out)
    display.write_header(["epoch", "train_loss", "time"])
    for i in range(100):
        display.update(i + 1, 100, "train")
    display.write_row([0, 0.5, "00:01"])
    display.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].split() == ["epoch", "train_loss", "time"]
    assert lines[1].split() == ["0", "0.500000", "00:01"]


def test_format_time():
    assert format_time(5) == "00:05"
    assert format_time(125.4) == "02:05"
    assert format_time(3725) == "1:02:05"


def test_fit_prints_one_row_per_epoch(synth_learner, capsys):
    learn = synth_learner()
    learn.fit(3)
    rows = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert rows[0].split() == ["epoch", "train_loss", "valid_loss", "time"]
    assert [r.split()[0] for r in rows[1:]] == ["0", "1", "2"]
