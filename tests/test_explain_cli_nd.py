"""``stridenet explain conv-transpose | conv3d`` and ``output-size --transpose / --sizes``:
the text a user sees, and one clear line with exit status 2 for bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from stridenet.cli import main as cli_main


def _run(capsys, *argv):
    code = cli_main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_conv_transpose_readme_command(capsys):
    code, out, err = _run(capsys, "conv-transpose", "--input", "[[1, 2], [3, 4]]", "--kernel",
                          "[[1, 0], [0, 1]]", "--strides", "2")
    assert code == 0 and err == ""
    assert "View 1: patch spreading" in out and "View 2: zero insertion" in out
    assert "Output (4x4):\n  1 0 2 0\n  0 1 0 2\n  3 0 4 0\n  0 3 0 4" in out
    assert "Both views give the same output (4x4)" in out


def test_conv_transpose_1d_same_output_padding(capsys):
    code, out, _ = _run(capsys, "conv-transpose", "--input", "[1, 2, 3]", "--kernel",
                        "[1, 10, 100]", "--strides", "2", "--padding", "same",
                        "--output-padding", "1")
    assert code == 0
    assert "length: (3 - 1)*2 + 3 % 2 + 1 = 6" in out
    assert "1  10 102  20 203  30" in out


def test_conv_transpose_markdown_html_and_out_file(capsys, tmp_path):
    path = tmp_path / "t.html"
    code, out, _ = _run(capsys, "conv-transpose", "--input", "[1, 2]", "--kernel", "[1, -1]",
                        "--strides", "2", "--format", "html", "--out", str(path))
    assert code == 0 and out.strip() == f"wrote {path}"
    assert path.read_text().startswith("<!DOCTYPE html>")
    code, out, _ = _run(capsys, "conv-transpose", "--input", "[1, 2]", "--kernel", "[1, -1]",
                        "--format", "markdown")
    assert code == 0 and out.startswith("```text")


def test_conv3d_cell(capsys):
    code, out, _ = _run(capsys, "conv3d", "--input", "[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]",
                        "--kernel", "[[[1, 0], [0, 1]], [[1, 1], [1, 1]]]", "--cell",
                        "[0, 0, 0]")
    assert code == 0
    assert "Sum: out[0,0,0] = 1 + 0 + 0 + 4 + 5 + 6 + 7 + 8 = 31" in out


@pytest.mark.parametrize("argv, lines", [
    (["--n", "10", "--kernel", "3", "--strides", "2", "--transpose"],
     ["out = (10 - 1)*2 + 3 + 0 = 21", "output_padding not given: max(3, 2) - 3 = 0"]),
    (["--n", "10", "--kernel", "3", "--strides", "2", "--transpose", "--padding", "same"],
     ["out = 10*2 = 20"]),
    (["--n", "10", "--kernel", "2", "--strides", "3", "--transpose"],
     ["out = (10 - 1)*3 + 2 + 1 = 30", "output_padding not given: max(2, 3) - 2 = 1"]),
    (["--sizes", "[5, 6]", "--kernel", "3", "--strides", "2", "--transpose", "--padding",
      "same", "--output-padding", "0"],
     ["rows: (5 - 1)*2 + 3 % 2 + 0 = 9", "cols: (6 - 1)*2 + 3 % 2 + 0 = 11", "output 9x11"]),
    (["--sizes", "[5, 6]", "--kernel", "3", "--strides", "2", "--transpose",
      "--output-padding", "1"],
     ["rows: (5 - 1)*2 + 3 + 1 = 12", "cols: (6 - 1)*2 + 3 + 1 = 14", "output 12x14"]),
    (["--sizes", "[7, 9, 10]", "--kernel", "3", "--strides", "2", "--padding", "same"],
     ["depth: floor((7 + 1 + 1 - 3) / 2) + 1 = 4", "output 4x5x5"]),
    (["--sizes", "[7, 9, 10]", "--kernel", "3", "--dilation", "2"],
     ["cols: floor((10 + 0 + 0 - 2*(3 - 1) - 1) / 1) + 1 = 6", "output 3x5x6"]),
    (["--n", "6", "--kernel", "3", "--strides", "2", "--padding", "1"],  # unchanged
     ["out = floor((6 + 1 + 1 - 3) / 2) + 1 = 3"]),
])
def test_output_size_spec_examples(capsys, argv, lines):
    code, out, err = _run(capsys, "output-size", *argv)
    assert code == 0 and err == ""
    for line in lines:
        assert line in out.splitlines()


@pytest.mark.parametrize("argv, message", [
    (["conv-transpose", "--input", "[[1, 2]]", "--kernel", "[[1, 1]]", "--strides", "2",
      "--output-padding", "2"], "output_padding (2, 2) must be >= 0 and smaller than strides"),
    (["conv-transpose", "--input", "[[1, a]]", "--kernel", "[[1]]"], "--input must be JSON"),
    (["conv-transpose", "--input", '[["1", 2]]', "--kernel", "[[1]]"], "real numbers"),
    (["conv-transpose", "--input", "[[1, 2]]", "--kernel", "[[[[[1]]]]]"],
     "kernel must have shape (KH, KW)"),
    (["conv-transpose", "--input", "[[1, 2]]", "--kernel", "[1, 2]"], "kernel must have shape"),
    (["conv3d", "--input", "[[1, 2], [3, 4]]", "--kernel", "[[[1]]]"], "x must have shape"),
    (["conv3d", "--input", "[[[1]]]", "--kernel", "[[[1]]]", "--cell", "[0, 1, 0]"],
     "outside the output"),
    (["output-size", "--n", "10", "--kernel", "3", "--strides", "2", "--transpose",
      "--output-padding", "2"], "output_padding must be None or an int in [0, strides=2)"),
    (["output-size", "--kernel", "3"], "give --n (one axis) or --sizes"),
    (["output-size", "--n", "4", "--kernel", "3", "--output-padding", "1"], "add --transpose"),
    (["output-size", "--n", "4", "--kernel", "3", "--transpose", "--padding", "causal"],
     "must be valid or same"),
])
def test_bad_input_one_line_exit_2(capsys, argv, message):
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("stridenet explain: error: ")
    assert message in err


def test_console_script_conv_transpose():
    proc = subprocess.run([sys.executable, "-m", "stridenet.explain.cli", "explain",
                           "conv-transpose", "--input", "[[1, 2], [3, 4]]", "--kernel",
                           "[[1, 0], [0, 1]]", "--strides", "2", "--output-padding", "3"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "smaller than strides" in proc.stderr


def test_too_large_to_trace_is_refused_before_tracing(capsys):
    big = "[" + ", ".join(["[" + ", ".join(["1"] * 400) + "]"] * 400) + "]"  # 160,000 cells
    code, out, err = _run(capsys, "conv-transpose", "--input", big, "--kernel", "[[1]]")
    assert code == 2 and "too large to trace step by step" in err
