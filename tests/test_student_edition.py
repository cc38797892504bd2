"""The student edition: tools/make_student.py strips every solution with nbgrader's own
code, clears the outputs, is deterministic, refuses bad markers and bad output folders,
touches only the files it wrote, and leaves no exercise's answer above the exercise.

Running the real editions is tests/test_nbgrader.py's job (nbgrader autograde executes
them); here one small synthetic notebook is executed.
"""

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "make_student.py"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

spec = importlib.util.spec_from_file_location("make_student", SCRIPT)
make_student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_student)


def solution(grade_id):
    return {"nbgrader": {"grade": False, "grade_id": grade_id, "locked": False,
                         "schema_version": 3, "solution": True, "task": False}}


def grade(grade_id, points):
    return {"nbgrader": {"grade": True, "grade_id": grade_id, "locked": True,
                         "points": points, "schema_version": 3, "solution": False,
                         "task": False}}


DER_SIGMOID = '''\
import backprop_core as bc
from workbook import checks


def der_sigmoid(y):
    """sigma' from sigma's output."""
    ### BEGIN SOLUTION
    secret_one = y * (1 - y)
    return secret_one
    ### END SOLUTION'''

TWO_REGIONS = '''\
class Net:
    def forward(self, X):
        if X is None:
            ### BEGIN SOLUTION
            secret_two = 0
            ### END SOLUTION
        return X


def step(model, grads):
\t### BEGIN SOLUTION
\tsecret_three = 1
\t### END SOLUTION'''

CHECK = 'passed = checks.check_der_sigmoid(der_sigmoid)\nassert passed, "read the verdict above"'


def synthetic_notebook():
    """A notebook with three solution regions in two cells, a grade cell, outputs and
    metadata to be dropped."""
    check = new_code_cell(CHECK, execution_count=3, id="check",
                          metadata={**grade("demo_check", 1), "tags": ["exercise-check"],
                                    "execution": {"iopub": "12:00"}})
    check.outputs = [new_output("stream", name="stdout", text="✓ check_der_sigmoid: ...\n")]
    return new_notebook(cells=[
        new_markdown_cell("# A notebook\n\nBefore the exercise.", id="intro"),
        new_code_cell("x = 1 + 1\nprint(x)", execution_count=1, id="before"),
        new_code_cell(DER_SIGMOID, execution_count=2, id="exercise-1",
                      metadata=solution("demo_der_sigmoid")),
        check,
        new_code_cell(TWO_REGIONS, id="exercises-2-3", metadata=solution("demo_two")),
        new_code_cell("print('after the exercises')", id="after"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                "language": "python"},
                 "language_info": {"name": "python", "version": "3.11.9"},
                 "widgets": {"state": {}}, "toc": {"number": True}})


def write(nb, folder, name="01_demo.ipynb"):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def run_script(*args):
    """The command line, in a new process (slow: use it where the process matters)."""
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True, check=False)


def run_main(capsys, *args):
    """The command line, in this process: (exit code, stdout, stderr)."""
    code = make_student.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def edition(tmp_path, capsys):
    """Write the synthetic notebook, run the script, return the student notebook."""
    write(synthetic_notebook(), tmp_path / "src")
    code, out, err = run_main(capsys, "--src", tmp_path / "src", "--out", tmp_path / "out")
    assert code == 0, err
    assert "01_demo.ipynb: 3 exercises" in out
    return tmp_path / "out" / "01_demo.ipynb"


def indented(stub, indent):
    return "\n".join(indent + line for line in stub.split("\n"))


def test_solutions_are_replaced_by_nbgraders_stub(edition):
    nb = nbformat.read(edition, as_version=4)
    text = edition.read_text(encoding="utf-8")
    assert "secret" not in text and "SOLUTION" not in text
    sources = [cell.source for cell in nb.cells]
    assert sources[0] == make_student.NOTE
    assert sources[3] == DER_SIGMOID.split("    ### BEGIN")[0] + indented(STUB, "    ")
    assert indented(STUB, " " * 12) + "\n        return X" in sources[5]
    assert sources[5].endswith(indented(STUB, "\t"))
    for source in sources[1:]:
        if not source.startswith("#"):
            ast.parse(source)                 # the stubs keep the code valid Python


def test_the_stub_is_the_one_nbgrader_releases():
    """One stripping code for both paths: make_student runs nbgrader's preprocessors."""
    from nbgrader.preprocessors import ClearSolutions
    assert ClearSolutions().code_stub["python"] == STUB
    steps = make_student.release_preprocessors()
    assert ClearSolutions in steps
    assert not set(make_student.NEEDS_A_COURSE) & set(steps)


def test_outputs_are_cleared_grade_cells_locked_metadata_reduced(edition):
    nb = nbformat.read(edition, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert set(cell.metadata) <= {"tags", "nbgrader", "editable", "deletable"}
    check = nb.cells[4]
    assert check.metadata["tags"] == ["exercise-check"]
    assert check.metadata["editable"] is False and check.metadata["deletable"] is False
    assert check.source == CHECK
    assert dict(nb.metadata) == {"kernelspec": make_student.KERNELSPEC,
                                 "language_info": {"name": "python"}}
    nbformat.validate(nb)


def test_generator_is_deterministic(tmp_path, capsys, edition):
    first = edition.read_bytes()
    # another process (another hash seed), and a re-run over an existing edition
    result = run_script("--src", tmp_path / "src", "--out", tmp_path / "again")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "again" / "01_demo.ipynb").read_bytes() == first
    assert run_main(capsys, "--src", tmp_path / "src", "--out", tmp_path / "out")[0] == 0
    assert edition.read_bytes() == first


@pytest.mark.parametrize("source, problem", [
    ("x = 1\n### END SOLUTION", "cell 2, line 2: `### END SOLUTION` without a `### BEGIN"),
    ("def f():\n    ### BEGIN SOLUTION\n    return 1", "cell 2, line 2: `### BEGIN SOLUTION` "
     "is never closed"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
     "cell 2, line 2: `### BEGIN SOLUTION` inside the region opened on line 1"),
])
def test_unbalanced_markers_are_refused_before_writing(tmp_path, capsys, source, problem):
    src = tmp_path / "src"
    write(synthetic_notebook(), src, "01_fine.ipynb")
    write(new_notebook(cells=[new_markdown_cell("intro"),
                              new_code_cell(source, metadata=solution("broken"))]),
          src, "02_broken.ipynb")
    code, _, err = run_main(capsys, "--src", src, "--out", tmp_path / "out")
    assert code == 1
    assert err.startswith("make_student: 02_broken.ipynb, " + problem)
    assert not (tmp_path / "out").exists()          # nothing written, not even 01_fine


def test_a_region_outside_a_solution_cell_is_refused(tmp_path):
    nb = new_notebook(cells=[new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1\n"
                                           "    ### END SOLUTION")])
    with pytest.raises(make_student.MarkerError,
                       match=r"03_x.ipynb, cell 1, line 2: a solution region in a cell that is "
                             "not marked as a solution cell"):
        make_student.student_notebook(nb, "03_x.ipynb")


def test_the_command_line_exits_non_zero_on_bad_markers(tmp_path):
    write(new_notebook(cells=[new_code_cell("### END SOLUTION")]), tmp_path / "src", "01_x.ipynb")
    result = run_script("--src", tmp_path / "src", "--out", tmp_path / "out")
    assert result.returncode == 1
    assert "01_x.ipynb, cell 1, line 1: `### END SOLUTION` without" in result.stderr
    assert "Traceback" not in result.stderr


def test_markers_in_markdown_are_refused():
    nb = new_notebook(cells=[new_markdown_cell("### BEGIN SOLUTION\nanswer\n### END SOLUTION")])
    with pytest.raises(make_student.MarkerError, match="code cells only, found in a markdown"):
        make_student.student_notebook(nb, "03_x.ipynb")


def test_no_notebooks_is_an_error(tmp_path, capsys):
    (tmp_path / "src").mkdir()
    code, _, err = run_main(capsys, "--src", tmp_path / "src", "--out", tmp_path / "out")
    assert code == 1 and "no notebooks in" in err


# -- the output folder: never the source, only our own files ----------------------------


@pytest.mark.parametrize("out", [".", "student", "student/../.", "deep/er"])
def test_an_output_folder_equal_to_or_inside_the_source_is_refused(tmp_path, capsys, out):
    src = tmp_path / "src"
    path = write(synthetic_notebook(), src)
    before = path.read_bytes()
    code, _, err = run_main(capsys, "--src", src, "--out", src / out)
    assert code == 1
    assert re.search(r"--out .* is (the source folder|inside the source folder)", err), err
    assert path.read_bytes() == before
    assert sorted(p.name for p in src.rglob("*")) == ["01_demo.ipynb"]


def test_a_symlink_into_the_source_is_refused(tmp_path, capsys):
    src = tmp_path / "src"
    write(synthetic_notebook(), src)
    (tmp_path / "link").symlink_to(src)
    code, _, err = run_main(capsys, "--src", src, "--out", tmp_path / "link")
    assert code == 1 and "is the source folder" in err


def test_a_course_inside_the_source_is_refused(tmp_path):
    write(synthetic_notebook(), tmp_path / "src")
    with pytest.raises(make_student.OutputError, match="--course .* is inside the source"):
        make_student.make_course(tmp_path / "src", tmp_path / "src" / "course")


def test_unrelated_notebooks_in_the_output_folder_survive(tmp_path):
    """The old script deleted every *.ipynb in the output without a source; now only
    files it wrote itself, and still unchanged, are removed."""
    src, out = tmp_path / "src", tmp_path / "out"
    write(synthetic_notebook(), src, "01_a.ipynb")
    write(synthetic_notebook(), src, "02_b.ipynb")
    mine = write(new_notebook(cells=[new_markdown_cell("my notes")]), out, "99_mine.ipynb")
    assert make_student.make_student(src, out) == {"01_a.ipynb": 3, "02_b.ipynb": 3}
    (src / "02_b.ipynb").rename(src / "03_c.ipynb")          # a source renamed
    assert make_student.make_student(src, out) == {"01_a.ipynb": 3, "03_c.ipynb": 3}
    names = sorted(p.name for p in out.glob("*.ipynb"))
    assert names == ["01_a.ipynb", "03_c.ipynb", "99_mine.ipynb"]   # 02_b: ours, stale: gone
    assert nbformat.read(mine, as_version=4).cells[0].source == "my notes"
    manifest = json.loads((out / make_student.MANIFEST).read_text())
    assert sorted(manifest["written"]) == ["01_a.ipynb", "03_c.ipynb"]


def test_a_file_changed_since_it_was_written_is_neither_replaced_nor_removed(tmp_path, capsys):
    src, out = tmp_path / "src", tmp_path / "out"
    write(synthetic_notebook(), src, "01_a.ipynb")
    write(synthetic_notebook(), src, "02_b.ipynb")
    make_student.make_student(src, out)
    answered = out / "01_a.ipynb"
    answered.write_text(answered.read_text().replace("raise NotImplementedError()",
                                                     "return y * (1 - y)"))
    work = answered.read_bytes()
    code, _, err = run_main(capsys, "--src", src, "--out", out)
    assert code == 1
    assert "not replacing 01_a.ipynb" in err and "pass --force" in err
    assert answered.read_bytes() == work

    (out / "02_b.ipynb").write_text((out / "02_b.ipynb").read_text() + " ")   # changed, then
    (src / "02_b.ipynb").unlink()                                             # its source goes
    code, _, err = run_main(capsys, "--src", src, "--out", out, "--force")
    assert code == 0, err
    assert answered.read_bytes() != work                                      # --force replaces
    assert (out / "02_b.ipynb").exists() and "keeping" in err                 # never removes


def test_a_notebook_of_the_same_name_not_written_by_the_script_is_kept(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write(synthetic_notebook(), src, "01_a.ipynb")
    theirs = write(new_notebook(cells=[new_markdown_cell("someone's 01_a")]), out, "01_a.ipynb")
    with pytest.raises(make_student.OutputError, match="not replacing 01_a.ipynb"):
        make_student.make_student(src, out)
    assert "someone's 01_a" in theirs.read_text()


def test_the_default_output_is_beside_the_source(tmp_path, capsys):
    write(synthetic_notebook(), tmp_path / "notebooks")
    code, out, err = run_main(capsys, "--src", tmp_path / "notebooks")
    assert code == 0, err
    assert (tmp_path / "student" / "01_demo.ipynb").exists()


def test_the_course_holds_the_graded_notebooks_and_the_config(tmp_path):
    src = tmp_path / "src"
    write(synthetic_notebook(), src, "01_a.ipynb")
    write(new_notebook(cells=[new_markdown_cell("no exercises")]), src, "00_index.ipynb")
    assert make_student.make_course(src, tmp_path / "course") == ["01_a.ipynb"]
    copied = tmp_path / "course" / "source" / "backprop" / "01_a.ipynb"
    assert copied.read_bytes() == (src / "01_a.ipynb").read_bytes()
    config = (tmp_path / "course" / "nbgrader_config.py").read_text()
    assert "c.Execute.timeout" in config
    compile(config, "nbgrader_config.py", "exec")


# -- the real workbook -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    counts = make_student.make_student(ROOT / "notebooks", out)
    return out, counts


def test_the_workbook_has_coded_exercises_in_every_lesson(real_edition):
    _, counts = real_edition
    lessons = {name: count for name, count in counts.items() if name[:2] in {"01", "02", "03",
                                                                           "04"}}
    assert len(lessons) == 4 and all(count >= 1 for count in lessons.values()), counts
    assert sum(counts.values()) >= 6


def normalized(text):
    """Code or LaTeX without blanks, spacing commands, or the difference of minus signs."""
    text = text.replace("−", "-").replace("\\left", "").replace("\\right", "")
    text = re.sub(r"\\(bigl|bigr|Bigl|Bigr|,|;|!|quad)", "", text)
    return re.sub(r"\s+", "", text)


def answer_lines(region):
    """The lines of a solution region that give it away: code, comments stripped, without
    block headers such as ``for name in bc.PARAM_NAMES:``."""
    lines = [normalized(line.split("#")[0]) for line in region.split("\n")]
    return [line for line in lines if len(line) >= 15 and not line.endswith(":")]


#: The exercise of 01 is a derivation: its result must not show above it in any notation.
DERIVED = {"01_der_sigmoid": ["y(1-y)", "y*(1-y)", "y*(1.0-y)", "(1-y)*y", "σ(1-σ)",
                              "σ(x)(1-σ(x))", r"\sigma(x)(1-\sigma(x))", "p(1-p)",
                              r"\sigma(z)(1-\sigma(z))", "a(1-a)"]}


def answers_above(teacher, student):
    """(grade_id, earlier cell index, leaked line) for every answer that shows above its
    exercise in the student edition."""
    leaks = []
    offset = len(student.cells) - len(teacher.cells)          # the student note
    for index, cell in enumerate(teacher.cells):
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        regions = re.findall(r"BEGIN SOLUTION[^\n]*\n(.*?)\n[^\n]*END SOLUTION", cell.source,
                             flags=re.S)
        needles = [line for region in regions for line in answer_lines(region)]
        needles += DERIVED.get(meta["grade_id"], [])
        for above in range(index + offset):
            text = normalized(student.cells[above].source)
            leaks += [(meta["grade_id"], above, needle) for needle in needles if needle in text]
    return leaks


def test_no_answer_shows_above_its_exercise(real_edition):
    out, _ = real_edition
    leaks = {}
    for path in NOTEBOOKS:
        teacher = nbformat.read(path, as_version=4)
        student = nbformat.read(out / path.name, as_version=4)
        found = answers_above(teacher, student)
        if found:
            leaks[path.name] = found
    assert leaks == {}


def test_the_leak_detector_finds_an_answer_shown_above(tmp_path):
    """The oracle of the test above: a lesson cell that shows the answer is caught, in
    code and in the derivation's notation."""
    for leaked in ("print(y * (1 - y))", r"so $\sigma'(x) = \sigma(x)\,(1 - \sigma(x))$"):
        teacher = synthetic_notebook()
        teacher.cells.insert(1, new_markdown_cell(leaked) if "$" in leaked
                             else new_code_cell(leaked))
        teacher.cells[3].metadata["nbgrader"]["grade_id"] = "01_der_sigmoid"
        teacher.cells[3].source = teacher.cells[3].source.replace(
            "secret_one = y * (1 - y)\n    return secret_one", "return y * (1 - y)")
        student, _ = make_student.student_notebook(teacher, "01_demo.ipynb")
        assert answers_above(teacher, student), leaked
    clean = synthetic_notebook()
    assert answers_above(clean, make_student.student_notebook(clean, "01_demo.ipynb")[0]) == []


def test_cells_after_an_exercise_call_the_students_function_only_once_it_passed():
    """In the student edition a stub raises; a later cell that calls the student's function
    runs it only under ``if passed...:``, so every cell but the checks runs unanswered."""
    import ast as python
    for path in NOTEBOOKS:
        defined = set()
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            tree = python.parse(cell.source)
            if cell.metadata.get("nbgrader", {}).get("solution"):
                defined |= {node.name for node in tree.body
                            if isinstance(node, python.FunctionDef)}
                continue
            if cell.metadata.get("nbgrader", {}).get("grade"):
                continue
            guarded = set()
            for node in python.walk(tree):
                if isinstance(node, python.If) and "passed" in python.unparse(node.test):
                    guarded |= {id(n) for n in python.walk(node)}
            calls = [node for node in python.walk(tree) if isinstance(node, python.Name)
                     and node.id in defined and id(node) not in guarded]
            assert not calls, (path.name, cell.id, [n.id for n in calls])


# -- one edition, executed ---------------------------------------------------------------


def test_synthetic_edition_runs_and_only_its_check_fails(edition):
    from nbclient import NotebookClient
    nb = nbformat.read(edition, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(edition.parent)}}).execute()
    errors = [(i, o.ename) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for o in cell.outputs if o.output_type == "error"]
    assert errors == [(4, "AssertionError")]           # the stubs raise only when called
    printed = "".join(o.get("text", "") for o in nb.cells[4].outputs)
    assert printed.startswith("✗ check_der_sigmoid: not implemented yet. Replace the `raise "
                              "NotImplementedError` line with your code")
