"""Converge as a package: the wheel ``pip install .`` builds, installed as a user would
have it, run from a folder without the checkout.

The wheel is built once per session from a copy of the checkout (its build folder never
touches the checkout), with the build backend already in the environment and nothing
downloaded, and installed with ``pip install --no-deps --target``: the libraries it
needs are this environment's, so only Converge's own files come from the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from simulation.version import __version__, describe, git_state, version_info
from tests.conftest import ROOT, SCENARIOS, cli, git


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed into a folder of its own (``DIR/bin/converge`` and the packages)."""
    target = tmp_path_factory.mktemp("installed")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def converge(installed: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``converge ARGS``, run from ``cwd`` with only the install folder
    on the path: the checkout's packages are not importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CONVERGE_"))}
    return subprocess.run(
        [str(installed / "bin" / "converge"), *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def wheel_names(wheel: Path) -> set[str]:
    """Every file name in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_the_wheel_holds_the_package_and_the_app_and_nothing_else(wheel):
    names = wheel_names(wheel)
    tops = {name.split("/")[0] for name in names}
    assert tops == {"simulation", "converge_app", f"converge-{__version__}.dist-info"}, tops
    package = {str(p.relative_to(ROOT)) for p in (ROOT / "simulation").rglob("*.py")}
    assert package <= names, f"not in the wheel: {sorted(package - names)}"
    web = "converge_app/web/"
    app = ["app.py", ".streamlit/config.toml", "ui/common.py", "ui/icon.svg"]
    app += [f"scenarios/{p.name}" for p in SCENARIOS.glob("*.yaml")]
    assert {web + name for name in app} <= names, sorted({web + n for n in app} - names)
    assert not [n for n in names if "tests/" in n or ".venv" in n or "benchmarks/" in n]


def test_the_wheel_requires_what_requirements_txt_lists(wheel):
    listed = {
        str(Requirement(line.split("#")[0]))
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    }
    with zipfile.ZipFile(wheel) as archive:
        metadata = archive.read(f"converge-{__version__}.dist-info/METADATA").decode()
    required = {str(Requirement(r)) for r in Parser().parsestr(metadata).get_all("Requires-Dist")}
    assert required == listed


def test_the_wheel_records_the_commit_it_was_built_from(wheel):
    head = git("rev-parse", "HEAD")
    if head is None:
        pytest.skip("not a git checkout: the build has no commit to record")
    with zipfile.ZipFile(wheel) as archive:
        recorded = json.loads(archive.read("simulation/build_info.json"))
    assert recorded["commit"] == head and isinstance(recorded["dirty"], bool)


def test_installed_converge_says_its_version_and_runs_from_the_install(installed, tmp_path):
    done = converge(installed, "--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    head = git("rev-parse", "HEAD")
    assert done.stdout.startswith(f"converge {__version__} (commit {(head or '')[:12]}")
    where = subprocess.run(
        [sys.executable, "-c", "import simulation, converge_app; print(simulation.__file__)"],
        cwd=tmp_path, env={"PYTHONPATH": str(installed)}, capture_output=True, text=True,
    )  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr


def test_installed_converge_validates_and_refuses_a_bad_file_in_one_line(installed, tmp_path):
    good = converge(installed, "validate", str(SCENARIOS / "siloed.yaml"), cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text((SCENARIOS / "siloed.yaml").read_text() + "\nhorizon_days: -5\n")
    refused = converge(installed, "run", str(bad), cwd=tmp_path)
    assert refused.returncode == 2
    assert len(refused.stderr.splitlines()) == 1 and "horizon_days" in refused.stderr


def test_converge_app_runs_streamlit_on_the_installed_app(installed, tmp_path):
    done = converge(installed, "app", "--dry-run", "--server.port", "8600", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    web = installed / "converge_app" / "web"
    assert done.stdout.splitlines()[0] == f"cd {web}"
    assert f"-m streamlit run {web / 'app.py'} --server.port 8600" in done.stdout
    assert f"CONVERGE_RESULTS_ROOT={tmp_path / 'results'} " in done.stdout
    # Streamlit reads .streamlit/config.toml from the folder it starts in: this machine only
    settings = tomllib.loads((web / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["address"] == "127.0.0.1"
    assert not (installed / "app.py").exists() and not (installed / "ui").exists()


def test_converge_lists_app_among_the_commands_of_python_m_simulation(capsys):
    from converge_app.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: converge ")
    assert {"app", "run", "compare", "sweep"} <= {
        line.split()[0] for line in shown.splitlines() if line.startswith("    ")
    }


def test_version_in_process_names_the_version_and_the_commit():
    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout == f"converge {describe()}\n"
    assert version_info()["version"] == __version__


def test_a_commit_recorded_at_build_wins_overgit(tmp_path, monkeypatch):
    from simulation import version

    recorded = tmp_path / "build_info.json"
    recorded.write_text(json.dumps({"commit": "c0ffee" * 6 + "abcd", "dirty": False}))
    monkeypatch.setattr(version, "BUILD_INFO", recorded)
    assert version_info() == {
        "version": __version__,
        "commit": "c0ffee" * 6 + "abcd",
        "dirty": False,
    }
    assert describe() == f"{__version__} (commit c0ffeec0ffee)"


def test_a_package_outside_a_checkout_has_no_commit(tmp_path):
    assert git_state(tmp_path / "simulation") == {"commit": None, "dirty": None}


def test_converge_app_from_a_checkout_runs_the_checkouts_app(tmp_path, capsys):
    from converge_app.cli import app_environment, app_folder, main

    assert app_folder() == ROOT  # no converge_app/web/ in a checkout: its own app.py
    assert main(["app", "--dry-run", "--", "--server.headless", "true"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == f"cd {ROOT}"
    assert shown[1].endswith(f"-m streamlit run {ROOT / 'app.py'} --server.headless true")
    chosen = {"CONVERGE_RESULTS_ROOT": "/srv/sweeps"}
    assert app_environment(chosen, tmp_path)["CONVERGE_RESULTS_ROOT"] == "/srv/sweeps"
    assert app_environment({}, tmp_path)["CONVERGE_RESULTS_ROOT"] == str(tmp_path / "results")


def test_installed_converge_copies_the_ready_made_files_to_run(installed, tmp_path):
    done = converge(installed, "examples", "mine", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for folder in ("scenarios", "experiments"):
        shipped = {p.name for p in (ROOT / folder).glob("*.yaml")}
        assert {p.name for p in (tmp_path / "mine" / folder).glob("*.yaml")} == shipped
    edited = tmp_path / "mine" / "scenarios" / "siloed.yaml"
    edited.write_text(edited.read_text().replace("horizon_days", "horizon_days ", 1))
    again = converge(installed, "examples", "mine", cwd=tmp_path)
    assert again.returncode == 0 and "already there, kept" in again.stdout
    assert "horizon_days " in edited.read_text()  # kept, not overwritten
    valid = converge(installed, "validate", "mine/scenarios/converged.yaml", cwd=tmp_path)
    assert valid.returncode == 0, valid.stderr


def test_the_installed_package_has_the_checkouts_source_fingerprint(installed, tmp_path):
    """Workers from the wheel and a client from the checkout it was built from run the
    same code: a sweep compares the fingerprints (simulation.running.same_code)."""
    from simulation.version import source_fingerprint

    done = subprocess.run(
        [sys.executable, "-c",
         "from simulation.version import source_fingerprint; print(source_fingerprint())"],
        cwd=tmp_path, env={"PYTHONPATH": str(installed)}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.stdout.strip() == source_fingerprint(), done.stderr
