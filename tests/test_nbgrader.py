"""Autograding with nbgrader: the exercise cells carry nbgrader's metadata, and the round
trip works.

The round trip lays out a course with ``tools/make_student.py --course`` (notebooks 01 to
04, the ones with exercises), runs ``nbgrader generate_assignment`` and ``nbgrader
autograde`` on two submissions, the released notebooks as they are (unanswered) and the
teacher's notebooks (the reference solutions), and reads the gradebook: 0 points for the
first, full marks for the second. The course's nbgrader_config.py runs each notebook down
to its last check cell (the cells after it cannot change a grade; in notebook 04 they rerun
the report's tables for minutes), and the two submissions are graded in two course folders
at once, one process each.
"""

import ast
import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
ASSIGNMENT = "backprop"
BIN = Path(sys.executable).parent          # nbgrader runs `alembic` from the PATH

spec = importlib.util.spec_from_file_location("make_student", ROOT / "tools" / "make_student.py")
make_student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_student)


@functools.cache
def cells():
    """(notebook name, cell) for every cell of the workbook."""
    return [(path.name, cell) for path in NOTEBOOKS
            for cell in nbformat.read(path, as_version=4).cells]


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


# -- the metadata ---------------------------------------------------------------------------


def test_cell_ids_are_unique_across_the_workbook():
    seen = {}
    for name, cell in cells():
        seen.setdefault(cell.id, []).append(name)
    assert {cid: names for cid, names in seen.items() if len(names) > 1} == {}


def test_grade_ids_are_unique_across_the_workbook():
    ids = [nbgrader_meta(cell)["grade_id"] for _, cell in cells() if nbgrader_meta(cell)]
    assert ids and len(ids) == len(set(ids)), sorted(ids)


def test_every_solution_is_in_a_solution_cell_and_every_check_is_a_locked_grade_cell():
    solutions = checks = 0
    for name, cell in cells():
        meta = nbgrader_meta(cell)
        if "BEGIN SOLUTION" in cell.source:
            solutions += 1
            assert meta.get("solution") is True and meta.get("grade") is False, (name, cell.id)
            assert meta.get("locked") is False, (name, cell.id)
        if re.search(r"\bchecks\.check_\w+\(", cell.source):
            checks += 1
            assert meta.get("grade") is True and meta.get("solution") is False, (name, cell.id)
            assert meta.get("locked") is True and meta.get("points", 0) > 0, (name, cell.id)
        if meta:
            assert meta.get("schema_version") == 3 and meta.get("task") is False, (name, cell.id)
    assert solutions >= 6 and checks == solutions


def test_each_check_cell_fails_on_a_wrong_answer():
    """nbgrader scores a test cell by whether it raises: it must assert the verdict."""
    for name, cell in cells():
        if not nbgrader_meta(cell).get("grade"):
            continue
        tree = ast.parse(cell.source)
        asserts = [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert asserts, f"{name}, {cell.id}: a grade cell without an assert scores full marks"
        checked = {node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call)
                   and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("check_")}
        assert checked, f"{name}, {cell.id}: no checks.check_...() call"


def test_each_check_follows_its_exercise_and_checks_the_function_it_defines():
    for path in NOTEBOOKS:
        code = [cell for cell in nbformat.read(path, as_version=4).cells
                if cell.cell_type == "code"]
        for i, cell in enumerate(code):
            if not nbgrader_meta(cell).get("solution"):
                continue
            defined = [node.name for node in ast.parse(cell.source).body
                       if isinstance(node, ast.FunctionDef)]
            after = code[i + 1]
            assert nbgrader_meta(after).get("grade"), (path.name, cell.id)
            assert re.search(rf"checks\.check_\w+\({defined[0]}\)", after.source), (
                path.name, cell.id, after.source)


def test_nbgraders_validator_accepts_every_notebook():
    from nbgrader.nbgraderformat import MetadataValidator
    for path in NOTEBOOKS:
        MetadataValidator().validate_nb(nbformat.read(path, as_version=4))


# -- the round trip ---------------------------------------------------------------------------


def nbgrader(*args, cwd):
    """Start ``nbgrader`` in ``cwd``; returns the process (output in cwd/nbgrader.log)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = open(Path(cwd) / "nbgrader.log", "a", encoding="utf-8")   # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)


def finish(processes, what):
    for course, process in processes.items():
        code = process.wait(timeout=1500)
        log = (course / "nbgrader.log").read_text(encoding="utf-8")
        assert code == 0, f"nbgrader {what} failed in {course}:\n{log[-4000:]}"


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    """Two course folders, one per submission; both released and autograded."""
    courses = {student: tmp_path_factory.mktemp(f"course-{student}")
               for student in ("blank", "reference")}
    names = {}
    for student, course in courses.items():
        names[student] = make_student.make_course(ROOT / "notebooks", course)
    finish({course: nbgrader("generate_assignment", ASSIGNMENT, cwd=course)
            for course in courses.values()}, "generate_assignment")
    for student, course in courses.items():
        given = course / ("release" if student == "blank" else "source") / ASSIGNMENT
        submitted = course / "submitted" / student / ASSIGNMENT
        shutil.copytree(given, submitted)
    finish({course: nbgrader("autograde", ASSIGNMENT, cwd=course)
            for course in courses.values()}, "autograde")
    return courses, names["blank"]


def scores(course, student):
    """{notebook: (score, max_score)} and the assignment's (score, max_score)."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        per_notebook = {nb.name: (nb.score, nb.max_score) for nb in submission.notebooks}
        return per_notebook, (submission.score, submission.max_score)


def test_generate_assignment_releases_notebooks_01_to_04(round_trip):
    courses, names = round_trip
    assert names == ["01_sigmoid.ipynb", "02_forward_pass.ipynb", "03_backprop.ipynb",
                     "04_experiments.ipynb"]
    for course in courses.values():
        released = sorted(p.name for p in (course / "release" / ASSIGNMENT).glob("*.ipynb"))
        assert released == names


def test_the_released_notebooks_are_the_student_edition(round_trip, tmp_path):
    """make student and nbgrader strip the same way: the same code in every cell."""
    course = round_trip[0]["blank"]
    make_student.make_student(ROOT / "notebooks", tmp_path / "student")
    for path in (course / "release" / ASSIGNMENT).glob("*.ipynb"):
        released = nbformat.read(path, as_version=4)
        edition = nbformat.read(tmp_path / "student" / path.name, as_version=4)
        edition.cells = [c for c in edition.cells if not c.id.endswith("-student-note")]
        assert [c.source for c in released.cells] == [c.source for c in edition.cells]
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "raise NotImplementedError()" in text


def test_the_unanswered_notebooks_score_zero(round_trip):
    per_notebook, (score, max_score) = scores(round_trip[0]["blank"], "blank")
    print(f"unanswered: {score:g} of {max_score:g} points; {per_notebook}")
    assert set(per_notebook) == {name.removesuffix(".ipynb") for name in round_trip[1]}
    assert all(got == 0 and most > 0 for got, most in per_notebook.values()), per_notebook
    assert score == 0 and max_score == 12


def test_the_reference_solutions_score_full_marks(round_trip):
    per_notebook, (score, max_score) = scores(round_trip[0]["reference"], "reference")
    print(f"reference: {score:g} of {max_score:g} points; {per_notebook}")
    assert all(got == most > 0 for got, most in per_notebook.values()), per_notebook
    assert score == max_score == 12


def errors(path):
    """(cell id, error name) of every error output of an autograded notebook."""
    nb = nbformat.read(path, as_version=4)
    return [(cell.id, out.ename) for cell in nb.cells if cell.cell_type == "code"
            for out in cell.outputs if out.output_type == "error"]


def test_unanswered_notebooks_fail_only_in_their_check_cells(round_trip):
    """The stubs raise only where a check calls them: every other cell still runs."""
    course = round_trip[0]["blank"]
    for path in sorted((course / "autograded" / "blank" / ASSIGNMENT).glob("*.ipynb")):
        grade_cells = {cell.id for cell in nbformat.read(path, as_version=4).cells
                       if nbgrader_meta(cell).get("grade")}
        found = errors(path)
        assert found and all(cid in grade_cells and name == "AssertionError"
                             for cid, name in found), (path.name, found)
        assert {cid for cid, _ in found} == grade_cells, path.name


def test_reference_notebooks_run_without_an_error(round_trip):
    course = round_trip[0]["reference"]
    for path in sorted((course / "autograded" / "reference" / ASSIGNMENT).glob("*.ipynb")):
        assert errors(path) == [], path.name


def test_autograding_stops_after_the_last_check(round_trip):
    course = round_trip[0]["reference"]
    for path in sorted((course / "autograded" / "reference" / ASSIGNMENT).glob("*.ipynb")):
        code = [cell for cell in nbformat.read(path, as_version=4).cells
                if cell.cell_type == "code"]
        last = max(i for i, cell in enumerate(code) if nbgrader_meta(cell).get("grade"))
        assert all(cell.execution_count is not None for cell in code[:last + 1]), path.name
        assert all(cell.execution_count is None and not cell.outputs
                   for cell in code[last + 1:]), path.name


def test_the_verdicts_reach_the_student(round_trip):
    """The autograded notebooks keep the checkers' printed verdicts (nbgrader's feedback)."""
    course = round_trip[0]["blank"]
    nb = nbformat.read(course / "autograded" / "blank" / ASSIGNMENT / "01_sigmoid.ipynb",
                       as_version=4)
    check = next(cell for cell in nb.cells if nbgrader_meta(cell).get("grade"))
    printed = "".join(out.get("text", "") for out in check.outputs)
    assert printed.startswith("✗ check_der_sigmoid: not implemented yet."), printed
    assert json.dumps(check.outputs).count("AssertionError") >= 1
