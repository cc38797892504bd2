"""The student edition: tools/make_student.py stubs every solution, clears the
outputs, is deterministic, refuses unbalanced markers, and its notebooks run."""

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "make_student.py"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
MARKER = "### BEGIN SOLUTION"

spec = importlib.util.spec_from_file_location("make_student", SCRIPT)
make_student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_student)

DER_SIGMOID = '''\
import backprop_core as bc
from workbook import checks


def der_sigmoid(y):
    """sigma' from sigma's output."""
    ### BEGIN SOLUTION: implement der_sigmoid
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
\t### BEGIN SOLUTION: the momentum step
\tsecret_three = 1
\t### END SOLUTION'''


def synthetic_notebook():
    """A notebook with three exercises, outputs, and metadata to be dropped."""
    check = new_code_cell("ok = checks.check_der_sigmoid(der_sigmoid)\nprint(ok)",
                          execution_count=3, metadata={"tags": ["exercise-check"],
                                                       "execution": {"iopub": "12:00"}})
    check.outputs = [new_output("stream", name="stdout", text="✓ check_der_sigmoid: ...\nTrue\n")]
    nb = new_notebook(cells=[
        new_markdown_cell("# A notebook\n\nBefore the exercise.", id="intro"),
        new_code_cell("x = 1 + 1\nprint(x)", execution_count=1, id="before"),
        new_code_cell(DER_SIGMOID, execution_count=2, id="exercise-1"),
        check,
        new_code_cell(TWO_REGIONS, id="exercises-2-3"),
        new_code_cell("print('after the exercises')", id="after"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                "language": "python"},
                 "language_info": {"name": "python", "version": "3.11.9"},
                 "widgets": {"state": {}}, "toc": {"number": True}})
    check.id = "check"
    return nb


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


def test_solutions_are_replaced_by_numbered_stubs(edition):
    nb = nbformat.read(edition, as_version=4)
    text = edition.read_text(encoding="utf-8")
    assert "secret" not in text and "SOLUTION" not in text
    sources = [cell.source for cell in nb.cells]
    assert sources[0] == make_student.NOTE
    assert sources[3] == DER_SIGMOID.split("    ### BEGIN")[0] + (
        '    raise NotImplementedError("Exercise 1: implement der_sigmoid")')
    assert '            raise NotImplementedError("Exercise 2: write your code here")\n' \
           "        return X" in sources[5]
    assert sources[5].endswith('\n\traise NotImplementedError("Exercise 3: the momentum step")')
    for source in sources[1:]:
        if not source.startswith("#"):
            ast.parse(source)                 # the stubs keep the code valid Python


def test_outputs_counts_and_metadata_are_cleared(edition):
    nb = nbformat.read(edition, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert set(cell.metadata) <= {"tags"}
    assert nb.cells[4].metadata == {"tags": ["exercise-check"]}
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


def test_numbering_restarts_in_each_notebook_and_stale_files_go(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write(synthetic_notebook(), src, "01_a.ipynb")
    write(synthetic_notebook(), src, "02_b.ipynb")
    write(new_notebook(cells=[new_markdown_cell("no exercises")]), src, "00_index.ipynb")
    write(new_notebook(), out, "99_removed.ipynb")
    assert make_student.make_student(src, out) == {"00_index.ipynb": 0, "01_a.ipynb": 3,
                                                   "02_b.ipynb": 3}
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["00_index.ipynb", "01_a.ipynb",
                                                            "02_b.ipynb"]
    for name in ("01_a.ipynb", "02_b.ipynb"):
        nb = nbformat.read(out / name, as_version=4)
        assert 'NotImplementedError("Exercise 1: implement der_sigmoid")' in nb.cells[3].source
        assert 'NotImplementedError("Exercise 3: the momentum step")' in nb.cells[5].source
    index = nbformat.read(out / "00_index.ipynb", as_version=4)
    assert [c.source for c in index.cells] == ["no exercises"]     # no student note


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
    write(new_notebook(cells=[new_markdown_cell("intro"), new_code_cell(source)]), src,
          "02_broken.ipynb")
    code, _, err = run_main(capsys, "--src", src, "--out", tmp_path / "out")
    assert code == 1
    assert err.startswith("make_student: 02_broken.ipynb, " + problem)
    assert not (tmp_path / "out").exists()          # nothing written, not even 01_fine


def test_the_command_line_exits_non_zero_on_bad_markers(tmp_path):
    write(new_notebook(cells=[new_code_cell("### END SOLUTION")]), tmp_path, "01_x.ipynb")
    result = run_script("--src", tmp_path, "--out", tmp_path / "out")
    assert result.returncode == 1
    assert "01_x.ipynb, cell 1, line 1: `### END SOLUTION` without" in result.stderr
    assert "Traceback" not in result.stderr


def test_markers_in_markdown_are_refused(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell("### BEGIN SOLUTION\nanswer\n### END SOLUTION")])
    with pytest.raises(make_student.MarkerError, match="code cells only, found in a markdown"):
        make_student.student_notebook(nb, "03_x.ipynb")


def test_no_notebooks_is_an_error(tmp_path, capsys):
    code, _, err = run_main(capsys, "--src", tmp_path, "--out", tmp_path / "out")
    assert code == 1 and "no notebooks in" in err


# -- the editions run -----------------------------------------------------------------


def execute(path):
    """Run a notebook in a fresh kernel, errors recorded in place of raised."""
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def errors(nb):
    """(cell index, 'ename: evalue') of every cell whose output is an error."""
    return [(i, f"{o.ename}: {o.evalue}") for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]


def first_exercise(nb):
    return next(i for i, cell in enumerate(nb.cells)
                if cell.cell_type == "code" and 'NotImplementedError("Exercise' in cell.source)


def test_synthetic_edition_runs_and_the_checker_says_not_implemented(edition):
    nb = execute(edition)
    assert errors(nb) == []
    printed = "".join(o.get("text", "") for o in nb.cells[4].outputs)
    assert printed.startswith("✗ check_der_sigmoid: not implemented yet (Exercise 1: "
                              "implement der_sigmoid)")
    assert printed.endswith("False\n")


@pytest.fixture(scope="module")
def real_editions(tmp_path_factory):
    """The student edition of the workbook, executed once per notebook."""
    marked = [p for p in NOTEBOOKS if MARKER in p.read_text(encoding="utf-8")]
    if not marked:
        pytest.skip("no notebook in notebooks/ has `### BEGIN SOLUTION` markers yet")
    out = tmp_path_factory.mktemp("student")
    make_student.make_student(ROOT / "notebooks", out)
    return {p.name: execute(out / p.name) for p in marked}


def test_real_student_edition_runs_up_to_its_first_exercise(real_editions):
    for name, nb in real_editions.items():
        first = first_exercise(nb)
        early = [(i, e) for i, e in errors(nb) if i <= first]
        assert early == [], f"{name}: error before its first exercise (cell {first}): {early}"


def test_real_student_edition_runs_to_the_end(real_editions):
    """After an exercise, cells call the checker (which prints 'not implemented
    yet') or guard their use of the student's function, so nothing raises."""
    failures = {name: errors(nb) for name, nb in real_editions.items() if errors(nb)}
    assert failures == {}
