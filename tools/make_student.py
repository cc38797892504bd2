"""Hand out the workbook's exercises: a student edition, or an nbgrader course.

Each exercise is a code cell that nbgrader's metadata marks as a solution cell
("Autograded answer"), with the solution between nbgrader's markers::

    def der_sigmoid(y):
        ### BEGIN SOLUTION
        return y * (1 - y)
        ### END SOLUTION

and after it a locked grade cell ("Autograder tests", with points) that fails
on a wrong answer::

    assert checks.check_der_sigmoid(der_sigmoid), "not yet: read the verdict above"

The stripping is nbgrader's own, whichever way the notebooks go out:

* ``python tools/make_student.py [--out student]`` (``make student``, no
  course needed) runs every notebook through the preprocessors of ``nbgrader
  generate_assignment`` that need no course directory (its gradebook and
  header files): each marked region becomes nbgrader's stub, ``# YOUR CODE
  HERE`` and ``raise NotImplementedError()``, outputs are cleared, grade cells
  locked. Cell metadata is reduced to tags, nbgrader's and the lock flags;
  notebook metadata to the kernel and language; a note opens each notebook with
  exercises. The same notebooks give byte-identical files.
* ``python tools/make_student.py --course DIR`` lays out an nbgrader course
  directory: ``DIR/source/backprop/`` holds the notebooks that have exercises,
  as they are, and ``DIR/nbgrader_config.py`` the settings they need (among them:
  autograding runs each notebook down to its last check cell, since the cells
  after it cannot change a grade). Then, in ``DIR``: ``nbgrader
  generate_assignment backprop``, hand out ``release/backprop/``, collect into
  ``submitted/<student>/backprop/`` and ``nbgrader autograde backprop``.

Before anything is written, markers that do not pair up (an END without a
BEGIN, a BEGIN inside a region or never closed), a marker outside a code cell
or in a cell not marked as a solution cell stop the script with an error naming
the notebook, cell and line.

The output folder may not be the source folder or inside it. In the output
folder the script replaces and removes only files it wrote itself, as recorded
in its manifest (``.make_student.json``, with each file's hash): other files
are never touched, and a file changed since it was written (a student's
answers, say) is not overwritten without ``--force``, nor removed.

Usage::

    python tools/make_student.py [--src notebooks] [--out student] [--force]
    python tools/make_student.py --course DIR [--src notebooks] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import nbformat
from nbgrader import utils as nbgrader_utils
from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearSolutions, IncludeHeaderFooter, SaveCells
from traitlets.config import Config

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "backprop"
MANIFEST = ".make_student.json"
KEPT_CELL_METADATA = ("tags", "nbgrader", "editable", "deletable")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
NOTE = ("> **Student edition.** Each exercise cell has `# YOUR CODE HERE` and "
        "`raise NotImplementedError()` where your code goes: replace both lines with your "
        "solution and run the cell. Then run the check below it: it prints what is right "
        "and what is not, and fails (an `AssertionError`) until your answer is right.")
#: ``nbgrader generate_assignment``'s steps that need a course directory: the
#: gradebook (SaveCells) and the course's header and footer notebooks.
NEEDS_A_COURSE = (IncludeHeaderFooter, SaveCells)
#: The course's nbgrader settings: autograding runs each notebook down to its last check.
COURSE_CONFIG = '''\
# nbgrader settings for the back-propagation workbook, written by tools/make_student.py.
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute


class ExecuteToLastCheck(Execute):
    """nbgrader's Execute, stopped after the notebook's last grade cell.

    The cells below the last check cannot change a grade, and in notebook 04 they rerun
    the report's tables for minutes. The autograded notebook keeps them, unexecuted. To run
    every cell, delete the line below that sets Autograde.autograde_preprocessors.
    """

    def preprocess(self, nb, resources, km=None):
        graded = [i for i, cell in enumerate(nb.cells)
                  if cell.metadata.get("nbgrader", {}).get("grade")]
        if not graded:
            return super().preprocess(nb, resources, km)
        rest = nb.cells[graded[-1] + 1:]
        del nb.cells[graded[-1] + 1:]
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            nb.cells.extend(rest)
        return nb, resources


c = get_config()  # noqa: F821 (nbgrader defines it)
c.Autograde.autograde_preprocessors = [
    ExecuteToLastCheck if step is Execute else step
    for step in Autograde.class_traits()["autograde_preprocessors"].default()]
# A cell may run for minutes: notebook 04 trains dozens of networks in one cell.
c.Execute.timeout = 1800
'''

_clear = ClearSolutions()
BEGIN, END = _clear.begin_solution_delimeter, _clear.end_solution_delimeter


class MarkerError(ValueError):
    """Solution markers that do not pair up, or sit where nbgrader cannot strip them."""


class OutputError(ValueError):
    """An output folder the script must not write to, or files it must not replace."""


# -- the student edition -------------------------------------------------------------


def check_markers(nb, name):
    """Raise ``MarkerError`` (naming the notebook, cell and line) for markers
    that ``nbgrader generate_assignment`` would reject or mishandle.

    Returns
    -------
    int
        The number of solution regions in the notebook.
    """
    regions = 0
    for index, cell in enumerate(nb.cells, start=1):
        where = f"{name}, cell {index}"
        lines = cell.source.split("\n")
        marked = [n for n, line in enumerate(lines, start=1) if BEGIN in line or END in line]
        if marked and cell.cell_type != "code":
            raise MarkerError(f"{where}, line {marked[0]}: solution markers are allowed in "
                              f"code cells only, found in a {cell.cell_type} cell.")
        open_at = None
        for lineno, line in enumerate(lines, start=1):
            if BEGIN in line:
                if open_at is not None:
                    raise MarkerError(f"{where}, line {lineno}: `### {BEGIN}` inside the "
                                      f"region opened on line {open_at}; close it first with "
                                      f"`### {END}`.")
                open_at = lineno
            elif END in line:
                if open_at is None:
                    raise MarkerError(f"{where}, line {lineno}: `### {END}` without a "
                                      f"`### {BEGIN}` before it.")
                open_at, regions = None, regions + 1
        if open_at is not None:
            raise MarkerError(f"{where}, line {open_at}: `### {BEGIN}` is never closed; "
                              f"add `### {END}` in the same cell.")
        if marked and not nbgrader_utils.is_solution(cell):
            raise MarkerError(f"{where}, line {marked[0]}: a solution region in a cell that "
                              "is not marked as a solution cell. Give the cell the metadata "
                              "{\"nbgrader\": {\"solution\": true, \"grade\": false, "
                              "\"locked\": false, \"grade_id\": \"...\", "
                              "\"schema_version\": 3}} (an \"Autograded answer\").")
    return regions


def release_preprocessors():
    """The classes of ``nbgrader generate_assignment``'s steps that need no course."""
    steps = GenerateAssignment.class_traits()["preprocessors"].default()
    return [step for step in steps if step not in NEEDS_A_COURSE]


def student_notebook(nb, name):
    """The student edition of one notebook (a new object) and its number of exercises."""
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)       # a deep copy
    exercises = check_markers(nb, name)
    resources = {"unique_key": Path(name).stem, "metadata": {"name": Path(name).stem}}
    for step in release_preprocessors():
        try:
            nb, resources = step(config=Config()).preprocess(nb, resources)
        except Exception as exc:            # nbgrader's own checks, with the notebook named
            raise MarkerError(f"{name}: nbgrader's {step.__name__} refused it: {exc}") from exc
    for cell in nb.cells:
        cell.metadata = {k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if exercises:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            NOTE, id=f"{Path(name).stem.split('_')[0]}-student-note"))
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    nbformat.validate(nb)
    return nb, exercises


def make_student(src, out, force=False):
    """Write the student edition of every ``src/*.ipynb`` to ``out``.

    Every notebook is converted and every check passed before any file is
    written, so a marker error leaves ``out`` as it was.

    Parameters
    ----------
    src, out : path
        The workbook's notebooks, and the folder to write; ``out`` may not be
        ``src`` or inside it.
    force : bool
        Replace files changed since this script wrote them.

    Returns
    -------
    dict
        Notebook file name -> number of exercises.
    """
    src, out = Path(src), Path(out)
    _refuse_inside(out, src, "--out")
    paths = _notebooks(src)
    editions = {path.name: student_notebook(nbformat.read(path, as_version=4), path.name)
                for path in paths}
    _write_files(out, {name: _text(nb) for name, (nb, _) in editions.items()}, force)
    return {name: count for name, (_, count) in editions.items()}


# -- the nbgrader course --------------------------------------------------------------


def make_course(src, course, force=False, assignment=ASSIGNMENT):
    """Lay out an nbgrader course directory for the notebooks of ``src`` that
    have exercises: ``course/source/<assignment>/`` and ``course/nbgrader_config.py``.

    Returns
    -------
    list of str
        The notebooks of the assignment, by file name.
    """
    src, course = Path(src), Path(course)
    _refuse_inside(course, src, "--course")
    files = {"nbgrader_config.py": COURSE_CONFIG}
    names = []
    for path in _notebooks(src):
        nb = nbformat.read(path, as_version=4)
        if check_markers(nb, path.name):
            files[f"source/{assignment}/{path.name}"] = path.read_text(encoding="utf-8")
            names.append(path.name)
    if not names:
        raise FileNotFoundError(f"no notebook in {src}/ has a solution region to grade.")
    _write_files(course, files, force)
    return names


# -- writing only what is ours ----------------------------------------------------------


def _notebooks(src):
    paths = sorted(src.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no notebooks in {src}/: pass --src with the folder "
                                "that holds the workbook's .ipynb files.")
    return paths


def _text(nb):
    text = nbformat.writes(nb)              # sorted keys, one-space indent
    return text if text.endswith("\n") else text + "\n"


def _refuse_inside(out, src, option):
    out_r, src_r = out.resolve(), src.resolve()
    if out_r == src_r or out_r.is_relative_to(src_r):
        what = "the source folder" if out_r == src_r else "inside the source folder"
        raise OutputError(f"{option} {out} is {what} {src}: the output would sit among (or "
                          "overwrite) the workbook's own notebooks. Pass a folder outside "
                          f"it, e.g. {option} {'student' if option == '--out' else '../course'}.")


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _write_files(out, files, force):
    """Write ``files`` (relative path -> text) under ``out``, touching nothing that
    this script did not write; record what it wrote in ``out/MANIFEST``."""
    manifest_path = out / MANIFEST
    try:
        written = json.loads(manifest_path.read_text(encoding="utf-8"))["written"]
    except FileNotFoundError:
        written = {}
    except (ValueError, KeyError, TypeError) as exc:
        raise OutputError(f"{manifest_path} is not this script's manifest ({exc}); remove "
                          "it, or pass another output folder.") from None

    def ours_and_unchanged(rel):
        path = out / rel
        return rel in written and path.is_file() and _digest(path.read_bytes()) == written[rel]

    blocked = sorted(rel for rel in files if (out / rel).exists()
                     and not ours_and_unchanged(rel)
                     and (out / rel).read_bytes() != files[rel].encode("utf-8"))
    if blocked and not force:
        raise OutputError(
            f"not replacing {', '.join(blocked)} in {out}: "
            + ("written by someone else or changed since this script wrote it (a student's "
               "answers?). Move it away, or pass --force to replace it."))
    stale = [rel for rel in written if rel not in files]
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for rel in stale:                   # ours from an earlier run, no longer produced
        if ours_and_unchanged(rel):
            (out / rel).unlink()
        elif (out / rel).exists():      # changed since: no longer ours, left alone
            print(f"make_student: keeping {out / rel}: it changed since it was written",
                  file=sys.stderr)
    record = {rel: _digest(text.encode("utf-8")) for rel, text in files.items()}
    manifest_path.write_text(json.dumps({"written": record}, indent=1, sort_keys=True) + "\n",
                             encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--src", type=Path, default=ROOT / "notebooks",
                        help="folder of the workbook's notebooks (default: notebooks/)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, default=None,
                       help="folder of the student edition (default: student/ beside --src)")
    where.add_argument("--course", type=Path, default=None,
                       help="lay out an nbgrader course directory here instead")
    parser.add_argument("--force", action="store_true",
                        help="replace files changed since this script wrote them")
    args = parser.parse_args(argv)
    try:
        if args.course is not None:
            names = make_course(args.src, args.course, args.force)
            print(f"wrote source/{ASSIGNMENT}/ ({', '.join(names)}) and nbgrader_config.py "
                  f"to {_shown(args.course)}/; next, in that folder: "
                  f"nbgrader generate_assignment {ASSIGNMENT}")
            return 0
        out = args.out if args.out is not None else args.src.parent / "student"
        counts = make_student(args.src, out, args.force)
    except (MarkerError, OutputError, FileNotFoundError) as exc:
        print(f"make_student: {exc}", file=sys.stderr)
        return 1
    for name, count in counts.items():
        print(f"{name}: {count} exercise{'' if count == 1 else 's'}")
    print(f"wrote {len(counts)} notebooks to {_shown(out)}/")
    return 0


def _shown(path):
    shown = path.resolve()
    return shown.relative_to(Path.cwd()) if shown.is_relative_to(Path.cwd()) else shown


if __name__ == "__main__":
    sys.exit(main())
