"""Write the student edition of the workbook: every solution replaced by a stub.

In the notebooks, each solution sits in a code cell between two marker lines::

    def der_sigmoid(y):
        ### BEGIN SOLUTION: implement der_sigmoid
        return y * (1 - y)
        ### END SOLUTION

This script copies ``notebooks/*.ipynb`` to ``notebooks/student/`` and replaces
every such region, markers included, by one line at the BEGIN marker's
indentation::

        raise NotImplementedError("Exercise 1: implement der_sigmoid")

Exercises are numbered 1, 2, ... in each notebook, in reading order; the text
after ``BEGIN SOLUTION:`` becomes the stub's message. Outputs and execution
counts are cleared, notebook metadata is reduced to the kernel and language,
cell metadata to its tags, and a note opens each edited notebook. The output is
deterministic: the same notebooks give byte-identical files. Markers that do not
pair up (an END without a BEGIN, a BEGIN without an END in the same cell, a
BEGIN inside a region, or a marker in a markdown cell) stop the script with an
error naming the notebook, cell and line, before anything is written.

Usage::

    python tools/make_student.py [--src notebooks] [--out notebooks/student]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?::\s*(?P<text>.*?))?\s*$")
END = re.compile(r"^[ \t]*### END SOLUTION\s*$")
DEFAULT_TEXT = "write your code here"
KEPT_CELL_METADATA = ("tags",)
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
NOTE_ID = "student-edition-note"
NOTE = ("> **Student edition.** Each exercise cell raises `NotImplementedError` where your "
        "code goes: replace that line with your solution, run the cell, then run the "
        "check below it, which tells you what is right and what is not.")


class MarkerError(ValueError):
    """Solution markers that do not pair up."""


def stub_source(source, first_number, where):
    """Replace each marked region of one cell's source by a stub.

    Parameters
    ----------
    source : str
        The cell's source.
    first_number : int
        Number of the first exercise in this cell.
    where : str
        "notebook, cell k", for error messages.

    Returns
    -------
    source : str
        The source with every region replaced.
    count : int
        How many regions were replaced.
    """
    out, count, open_at = [], 0, None
    for lineno, line in enumerate(source.split("\n"), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if open_at is not None:
                raise MarkerError(f"{where}, line {lineno}: `### BEGIN SOLUTION` inside the "
                                  f"region opened on line {open_at}; close it first with "
                                  "`### END SOLUTION`.")
            open_at = lineno
            text = begin.group("text") or DEFAULT_TEXT
            message = json.dumps(f"Exercise {first_number + count}: {text}",
                                 ensure_ascii=False)
            out.append(f"{begin.group('indent')}raise NotImplementedError({message})")
        elif end:
            if open_at is None:
                raise MarkerError(f"{where}, line {lineno}: `### END SOLUTION` without a "
                                  "`### BEGIN SOLUTION` before it.")
            open_at, count = None, count + 1
        elif open_at is None:
            out.append(line)
    if open_at is not None:
        raise MarkerError(f"{where}, line {open_at}: `### BEGIN SOLUTION` is never closed; "
                          "add `### END SOLUTION` in the same cell.")
    return "\n".join(out), count


def student_notebook(nb, name):
    """The student edition of one notebook (a new object) and its exercise count."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)       # a deep copy
    number = 1
    for index, cell in enumerate(nb.cells, start=1):
        where = f"{name}, cell {index}"
        if cell.cell_type == "code":
            cell.source, count = stub_source(cell.source, number, where)
            number += count
            cell.outputs = []
            cell.execution_count = None
        elif any(BEGIN.match(line) or END.match(line) for line in cell.source.split("\n")):
            raise MarkerError(f"{where}: solution markers are allowed in code cells only, "
                              f"found in a {cell.cell_type} cell.")
        cell.metadata = {k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata}
    exercises = number - 1
    if exercises:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(NOTE, id=NOTE_ID))
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    return nb, exercises


def make_student(src, out):
    """Write the student edition of every ``src/*.ipynb`` to ``out``.

    Every notebook is converted before any file is written, so a marker error
    leaves ``out`` as it was. Notebooks in ``out`` without a source are removed.

    Returns
    -------
    dict
        Notebook file name -> number of exercises.
    """
    src, out = Path(src), Path(out)
    paths = sorted(src.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks in {src}/: pass --src with the folder "
                                "that holds the workbook's .ipynb files.")
    editions = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        editions[path.name] = student_notebook(nb, path.name)
    out.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out.glob("*.ipynb")):
        if stale.name not in editions:
            stale.unlink()
    for name, (nb, _) in editions.items():
        nbformat.validate(nb)
        text = nbformat.writes(nb)         # sorted keys, one-space indent
        (out / name).write_text(text if text.endswith("\n") else text + "\n",
                                encoding="utf-8")
    return {name: count for name, (_, count) in editions.items()}


def main(argv=None):
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--src", type=Path, default=root / "notebooks",
                        help="folder of the workbook's notebooks (default: notebooks/)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <src>/student/)")
    args = parser.parse_args(argv)
    out = args.out if args.out is not None else args.src / "student"
    try:
        counts = make_student(args.src, out)
    except (MarkerError, FileNotFoundError) as exc:
        print(f"make_student: {exc}", file=sys.stderr)
        return 1
    for name, count in counts.items():
        print(f"{name}: {count} exercise{'' if count == 1 else 's'}")
    shown = out.resolve()
    if shown.is_relative_to(Path.cwd()):
        shown = shown.relative_to(Path.cwd())
    print(f"wrote {len(counts)} notebooks to {shown}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
