"""The command line as a user runs it, on real files: its code in this process (as
``python -m simulation`` runs it, output and exit code captured), and in a real process
only what a process adds: the entry point, the status a shell sees, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import ROOT, SCENARIOS, cli, cli_process


def test_run_prints_kpis_and_writes_outputs(tmp_path):
    out = tmp_path / "run"
    done = cli(
        "run", str(SCENARIOS / "converged.yaml"), "--days", "60", "--seed", "4", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "Lead time, 85th pct" in done.stdout and "DORA tier:" in done.stdout
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["seed"] == 4 and kpis["days"] == 60
    events = pd.read_csv(out / "events.csv")
    assert {"case:concept:name", "concept:name", "org:resource", "time:timestamp"} <= set(
        events.columns
    )
    assert len(pd.read_csv(out / "daily.csv")) == 60
    assert (out / "items.csv").exists() and (out / "units.csv").exists()


def test_run_writes_parquet_on_request(tmp_path):
    done = cli(
        "run",
        str(SCENARIOS / "siloed.yaml"),
        "--days",
        "30",
        "--out",
        str(tmp_path),
        "--format",
        "parquet",
    )
    assert done.returncode == 0, done.stderr
    assert len(pd.read_parquet(tmp_path / "events.parquet")) > 0


def test_compare_prints_means_with_intervals_and_changes(tmp_path):
    done = cli(
        "compare",
        str(SCENARIOS / "siloed.yaml"),
        str(SCENARIOS / "converged.yaml"),
        "--replicates",
        "3",
        "--days",
        "80",
        "--workers",
        "2",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    lead = next(line for line in lines if line.strip().startswith("Lead time, mean"))
    assert lead.count("[") == 2 and lead.rstrip().endswith("%")
    assert "change against Siloed departments" in done.stdout
    assert "DORA tier (most common): Siloed departments:" in done.stdout
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert len(runs) == 6 and set(runs["replicate"]) == {0, 1, 2}


def test_compare_results_do_not_depend_on_worker_count(tmp_path):
    args = [str(SCENARIOS / "aligned.yaml"), "--replicates", "2", "--days", "40"]
    one = cli("compare", *args, "--workers", "1", "--out", str(tmp_path / "one"))
    two = cli("compare", *args, "--workers", "2", "--out", str(tmp_path / "two"))
    assert one.returncode == two.returncode == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "one" / "runs.csv"), pd.read_csv(tmp_path / "two" / "runs.csv")
    )


def test_schema_prints_json_schema():
    done = cli("schema")
    assert done.returncode == 0
    assert "work_types" in json.loads(done.stdout)["properties"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("structure: siloed\nlevers: {shared_language: 3}\n", "levers.shared_language"),
        ("structure: siloed\nheadcount: 5\n", "headcount: unknown field"),
        (
            "work_types: [{name: x, arrival_rate: 1,\n"
            "  route: [{discipline: qa, effort: {mean: 1}}]}]\n",
            "work_types[0].route[0].discipline: 'qa' is not a discipline",
        ),
        ("disciplines: [{name: dev, side: it, headcount: -1}]\n", "disciplines[0].headcount"),
        ("{{{ not yaml", "not valid YAML"),
    ],
)
def test_bad_scenarios_give_one_line_and_exit_2(tmp_path, content, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    for command in ("run", "validate"):
        done = cli(command, str(path))
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and expected in done.stderr
        assert "Traceback" not in done.stderr


def test_missing_file_and_bad_arguments_exit_2(tmp_path):
    missing = cli("run", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    bad = cli("compare", str(SCENARIOS / "siloed.yaml"), "--replicates", "0")
    assert bad.returncode == 2 and "must be at least 1" in bad.stderr


def test_every_command_has_help():
    for command in ("run", "compare", "validate", "schema", "sweep", "analyze", "parameters"):
        done = cli(command, "--help")
        assert done.returncode == 0 and "usage:" in done.stdout
        # argparse %-formats help strings but prints descriptions as written
        assert "%%" not in done.stdout, command


def test_python_dash_m_simulation_prints_and_exits_as_the_function_does(tmp_path):
    """What a shell sees from a real interpreter is what the in-process helper reports,
    for a refused scenario (exit 2 from the command) and a refused option (from argparse)."""
    path = tmp_path / "bad.yaml"
    path.write_text("structure: siloed\nheadcount: 5\n")
    width = {**os.environ, "COLUMNS": "80"}  # argparse wraps its usage to the terminal
    for args in (
        ("validate", str(path)),
        ("compare", str(SCENARIOS / "siloed.yaml"), "--replicates", "0"),
    ):
        real, here = cli_process(*args, timeout=120, env=width), cli(*args, env=width)
        assert real.returncode == here.returncode == 2, real.stderr
        assert (real.stdout, real.stderr) == (here.stdout, here.stderr)
        assert real.stderr.splitlines()[-1].count("error: ") == 1
        assert "Traceback" not in real.stderr


#: Imported by the commands that run or analyse, never by those that only read a file.
HEAVY = ("altair", "dask", "mesa", "networkx", "numpy", "pandas", "pyarrow", "scipy", "tqdm")


def test_validate_and_schema_answer_without_importing_the_model():
    """They answer in a fraction of a second because they import none of the heavy
    libraries: checked in a fresh interpreter, whose modules are only its own."""
    script = (
        "import sys\n"
        "from simulation.cli import main\n"
        f"main(['validate', {str(SCENARIOS / 'siloed.yaml')!r}])\n"
        "main(['schema'])\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
