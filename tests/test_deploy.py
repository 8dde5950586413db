"""The container recipes in deploy/, checked without Docker (there is no daemon where
the tests run): every command the containers run is parsed by the installed Dask's own
command line (an option it does not know fails here, not on a researcher's cluster),
the services and manifests point at each other, and the Dockerfile copies files that
exist and installs the wheel this repository builds."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points

import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"


def compose() -> dict:
    """deploy/docker-compose.yml, parsed."""
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def kubernetes() -> list[dict]:
    """deploy/kubernetes.yaml's objects, parsed."""
    return [doc for doc in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if doc]


def dask_command(argv: list[str]):
    """``dask scheduler ...`` or ``dask worker ...`` parsed by the installed Dask's own
    command line (the ``dask`` command's subcommands are the ``dask_cli`` entry
    points), without running it: its parsed options."""
    assert argv[0] == "dask", argv
    commands = {e.name: e for e in entry_points(group="dask_cli")}
    assert argv[1] in commands, f"dask has no subcommand {argv[1]!r}"
    main = commands[argv[1]].load()
    return main.make_context(f"dask {argv[1]}", list(argv[2:])).params


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


# --------------------------------------------------------------------------- compose


def test_compose_scheduler_and_workers_run_one_image_built_from_this_repository():
    services = compose()["services"]
    scheduler, worker = services["scheduler"], services["worker"]
    build = scheduler["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    for service in services.values():  # one image, built the same way for each
        assert (service["image"], service["build"]) == (scheduler["image"], build)
    assert "replicas" not in worker.get("deploy", {})  # --scale worker=N decides


def test_compose_workers_reach_the_scheduler_where_it_listens():
    services = compose()["services"]
    scheduler = dask_command(services["scheduler"]["command"])
    worker = dask_command(services["worker"]["command"])
    assert worker["scheduler"] == f"tcp://scheduler:{scheduler['port']}"
    assert worker["nthreads"] == 1  # one run at a time per worker: runs are pure Python
    published = {p.rsplit(":", 1)[-1] for p in services["scheduler"]["ports"]}
    assert str(scheduler["port"]) in published
    assert all(p.startswith("127.0.0.1:") for p in services["scheduler"]["ports"])


def test_the_compose_client_copies_the_experiments_then_runs_its_command(tmp_path):
    """The client's entrypoint, run here with a stand-in ``converge`` (this checkout's):
    the README's ``converge sweep experiments/brm_count.yaml`` finds its file."""
    client = compose()["services"]["client"]
    shim = tmp_path / "bin" / "converge"
    shim.parent.mkdir()
    shim.write_text(
        f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -c '
        '"import sys; from converge_app.cli import main; sys.exit(main())" "$@"\n'
    )
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [*client["entrypoint"], "ls", "experiments"],
        cwd=work,
        env={**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "brm_count.yaml" in done.stdout.split()
    assert (work / "scenarios" / "aligned.yaml").exists()  # the experiments' base files
    assert client["working_dir"] + "/results" in [v.split(":")[1] for v in client["volumes"]]


# --------------------------------------------------------------------------- Dockerfile


def test_the_dockerfile_copies_what_exists_and_installs_the_wheel_it_builds():
    instructions = dockerfile_instructions()
    stages = [args.split() for keyword, args in instructions if keyword == "FROM"]
    assert [s[0] for s in stages] == ["python:3.12-slim", "python:3.12-slim"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert requires["requires-python"] == ">=3.12"  # the image's Python satisfies it
    for keyword, args in instructions:
        if keyword != "COPY" or args.startswith("--from="):
            continue
        *sources, _ = shlex.split(args)
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    runs = " ".join(args for keyword, args in instructions if keyword == "RUN")
    assert "pip wheel . --no-deps" in runs
    # the wheel the first stage builds is named after the project
    assert f"/opt/converge/dist/{requires['name']}-*.whl" in runs


def test_the_image_runs_as_a_user_and_exposes_the_schedulers_ports():
    instructions = dockerfile_instructions()
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    exposed = {p for keyword, args in instructions if keyword == "EXPOSE" for p in args.split()}
    scheduler = dask_command(compose()["services"]["scheduler"]["command"])
    assert str(scheduler["port"]) in exposed
    cmd = [args for keyword, args in instructions if keyword == "CMD"][-1]
    assert yaml.safe_load(cmd)[0] == "converge"  # the console command the wheel installs
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "converge" in scripts


def test_the_build_context_leaves_out_the_environment_and_results():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert {".venv", "results", "dist", "build"} <= set(ignored)
    assert ".git" not in ignored  # the wheel records the commit it was built from


# --------------------------------------------------------------------------- Kubernetes


def test_kubernetes_workers_reach_the_scheduler_service():
    objects = {(o["kind"], o["metadata"]["name"]): o for o in kubernetes()}
    service = objects[("Service", "converge-scheduler")]
    scheduler = objects[("Deployment", "converge-scheduler")]
    worker = objects[("Deployment", "converge-worker")]
    pod_labels = scheduler["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    for deployment in (scheduler, worker):
        assert (
            deployment["spec"]["selector"]["matchLabels"]
            == (deployment["spec"]["template"]["metadata"]["labels"])
        )
    (scheduler_container,) = scheduler["spec"]["template"]["spec"]["containers"]
    (worker_container,) = worker["spec"]["template"]["spec"]["containers"]
    assert scheduler_container["image"] == worker_container["image"]
    listens = dask_command(scheduler_container["command"])["port"]
    address = dask_command(worker_container["command"])["scheduler"]
    assert address == f"tcp://{service['metadata']['name']}:{listens}"
    assert int(listens) in [p["port"] for p in service["spec"]["ports"]]


def test_the_command_check_catches_a_mistyped_command():
    import click

    with pytest.raises(click.UsageError, match="--no-such-option"):
        dask_command(["dask", "worker", "tcp://scheduler:8786", "--no-such-option"])
    with pytest.raises(AssertionError, match="no subcommand 'schedule'"):
        dask_command(["dask", "schedule", "--port", "8786"])
