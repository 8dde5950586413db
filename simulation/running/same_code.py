"""A sweep's rows come from one code: every process that runs its jobs runs the client's.

A Dask scheduler unpickles the jobs it is sent and a worker runs them, so both need the
``simulation`` package, and the same one: a worker with other code (an older wheel,
another commit, uncommitted edits, another numpy) would write rows that look like the
others and are not. Two checks keep that from happening:

- On connect (:func:`check_cluster`), first what Dask itself reports of each process
  (Python, dask, distributed, cloudpickle, msgpack: code sent to another Python cannot
  even load); then the scheduler and every worker report their
  :func:`~simulation.version.code_identity` (:mod:`simulation.running.code_probe`
  asks, in a way an older Converge or none can answer too); the first that differs
  from the client's, or cannot import Converge at all, refuses the sweep in one line
  naming the process and the difference, before any job is sent.
- On every job (:func:`check_job`): a worker that joins later (a SLURM job starting
  late, a worker restarted from another image) is refused by the job itself, which
  carries the client's source fingerprint; the sweep stops with the same one line.

Jobs carry their resolved scenarios, so the processes need the code, never the files.
"""

from __future__ import annotations

import re
import socket
from typing import Any

from simulation.errors import ScenarioError
from simulation.running import code_probe
from simulation.version import code_identity, describe, source_fingerprint

#: Where a refused sweep sends the researcher.
HOW_TO_FIX = "start it from the same wheel as this client (README: Sweeps on a cluster)"


def check_cluster(client: Any, field: str = "--cluster") -> None:
    """Refuse (:class:`ScenarioError` under ``field``) a cluster whose scheduler or any
    worker runs other code than this process, or cannot import Converge."""
    _check_dask_versions(client, field)
    ours = code_identity()
    code_probe.register()
    try:
        reports = {"the scheduler": client.run_on_scheduler(code_probe.report)}
    except Exception as error:  # the probe could not run there at all
        reports = {"the scheduler": error}
    workers = client.run(code_probe.report, on_error="return")
    reports |= {f"worker {address}": report for address, report in sorted(workers.items())}
    for where, report in reports.items():
        problem = code_difference(ours, report)
        if problem:
            raise ScenarioError(field, f"{where} {problem}; {HOW_TO_FIX}")


#: What Dask reports of every process without running our code there, and must match
#: before anything is sent: code sent by value needs the same Python, and the messages
#: between the processes the same Dask and serialisers.
DASK_PACKAGES = ("python", "dask", "distributed", "cloudpickle", "msgpack")


def _check_dask_versions(client: Any, field: str) -> None:
    versions = client.get_versions(check=False)
    ours = versions["client"]["packages"]
    processes = {"the scheduler": versions["scheduler"]}
    processes |= {f"worker {address}": v for address, v in sorted(versions["workers"].items())}
    for where, found in processes.items():
        theirs = (found or {}).get("packages", {})
        for name in DASK_PACKAGES:
            mine, other = _release(name, ours.get(name)), _release(name, theirs.get(name))
            if mine != other:
                label = "Python" if name == "python" else name
                raise ScenarioError(
                    field, f"{where} runs {label} {other} and this client {mine}; {HOW_TO_FIX}"
                )


def _release(name: str, version: str | None) -> str | None:
    """Python as ``major.minor`` (``3.12.1.final.0`` -> ``3.12``); others as they are."""
    if name == "python" and version:
        return ".".join(version.split(".")[:2])
    return version


def code_difference(ours: dict[str, Any], theirs: Any) -> str | None:
    """How another process's code differs from ours, in words (``runs Converge 0.7.0
    (commit 1a2b3c4d5e6f) and this client 0.8.0 (...)``), or None when it is the same.
    ``theirs`` is its :func:`~simulation.version.code_identity`, or the error it raised."""
    if isinstance(theirs, BaseException):
        return f"cannot import Converge ({_error_text(theirs)})"
    if isinstance(theirs, dict) and "error" in theirs:
        return f"cannot import Converge ({theirs['error']})"
    if not isinstance(theirs, dict):
        return f"answered {type(theirs).__name__} instead of its code version"
    if (theirs.get("version"), theirs.get("commit")) != (ours["version"], ours["commit"]):
        return f"runs Converge {describe(theirs)} and this client {describe(ours)}"
    if theirs.get("source") != ours["source"]:
        return (
            f"runs other source files of Converge {describe(ours)} (fingerprint "
            f"{theirs.get('source')}, this client's {ours['source']}: uncommitted edits)"
        )
    for key, value in ours.items():
        if theirs.get(key) != value:
            name = "Python" if key == "python" else key
            return f"runs {name} {theirs.get(key)} and this client {value}"
    return None


def check_job(expected_source: str | None) -> None:
    """Refuse to run a job sent by a client with other source files than this process
    (:func:`check_cluster` checks the processes present at connect; this, any that
    joins later). None: the job's sender did not ask (a caller of ``run_chunk``)."""
    here = source_fingerprint()
    if expected_source and expected_source != here:
        raise ScenarioError(
            "--cluster",
            f"a worker on {socket.gethostname()} runs other source files of Converge "
            f"{describe()} (fingerprint {here}, the client's {expected_source}); " + HOW_TO_FIX,
        )


def _error_text(error: BaseException) -> str:
    """``ModuleNotFoundError: No module named 'simulation'``, whether Dask raised the
    error itself or wrapped its repr in an Exception (``client.run``)."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    wrapped = re.fullmatch(r"(\w+)\((['\"])(.*)\2\)", text)
    if wrapped:
        return f"{wrapped.group(1)}: {wrapped.group(3)}"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
