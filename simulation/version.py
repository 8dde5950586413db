"""Which Converge this is: the package version and, where known, the git commit.

The version is written here once (the wheel's metadata reads it from this file). The
commit comes from one of two places, so that a client and its workers can compare the
code they run whether they run a checkout or an installed wheel:

- ``build_info.json`` beside this file, written when a wheel is built (``setup.py``
  records ``git rev-parse HEAD`` of the checkout it was built from). Never in a checkout.
- Otherwise git, asked at run time, when this package is a checkout's (a developer's
  tree, an editable install).

Neither found (a wheel built from an sdist, no git): the commit is None.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__version__ = "0.8.0"

#: Written into a built wheel only (setup.py): ``{"commit": ..., "dirty": ...}``.
BUILD_INFO = Path(__file__).with_name("build_info.json")
#: Libraries whose versions can change a run's numbers: a worker must have the client's.
RESULT_LIBRARIES = ("mesa", "numpy", "networkx", "pandas")
#: git gets this long to answer before the commit is called unknown (a hung network drive).
GIT_TIMEOUT_SECONDS = 5


def version_info() -> dict[str, Any]:
    """The code that runs: ``{"version", "commit", "dirty"}``.

    ``commit`` is the full git commit (None when unknown) and ``dirty`` whether the
    ``simulation`` package had uncommitted changes (None when unknown): recorded when the
    wheel was built, else read from git when this package sits in a checkout.
    """
    return {"version": __version__, **(_recorded_at_build() or git_state(Path(__file__).parent))}


@cache
def source_fingerprint() -> str:
    """sha256 (first 16 hex digits) of every ``.py`` file of this package, paths and
    bytes: equal exactly when two processes run the same source, whether from a wheel
    or a checkout, committed or not (a commit alone misses uncommitted edits)."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def code_identity() -> dict[str, Any]:
    """What must be equal for two processes to give the same numbers for the same job:
    ``version_info()`` plus the source fingerprint, Python's ``major.minor`` and the
    versions of :data:`RESULT_LIBRARIES`. A sweep compares its workers' with its own."""
    libraries = {}
    for name in RESULT_LIBRARIES:
        try:
            libraries[name] = version(name)
        except PackageNotFoundError:
            libraries[name] = None
    python = ".".join(platform.python_version_tuple()[:2])
    return {**version_info(), "source": source_fingerprint(), "python": python, **libraries}


def describe(info: dict[str, Any] | None = None) -> str:
    """One line for people: ``0.8.0 (commit 1a2b3c4d5e6f)``, with ``, uncommitted changes``
    when the package differs from its commit, or ``(commit unknown)``."""
    info = info or version_info()
    if not info.get("commit"):
        return f"{info['version']} (commit unknown)"
    changes = ", uncommitted changes" if info.get("dirty") else ""
    return f"{info['version']} (commit {info['commit'][:12]}{changes})"


def git_state(package: Path) -> dict[str, Any]:
    """``{"commit", "dirty"}`` of the git checkout whose top folder holds ``package`` (a
    directory): HEAD, and whether anything under ``package`` differs from it; both None
    outside a checkout, without git, or for a package installed inside some other
    repository (a virtual environment within a checkout is not that checkout's code)."""
    unknown = {"commit": None, "dirty": None}
    root = package.resolve().parent
    found = _git(root, "rev-parse", "--show-toplevel", "HEAD")
    lines = found.splitlines() if found else []
    if len(lines) != 2 or Path(lines[0]).resolve() != root:
        return unknown
    changes = _git(root, "status", "--porcelain", "--", package.name)
    return {"commit": lines[1], "dirty": None if changes is None else bool(changes.strip())}


def _recorded_at_build() -> dict[str, Any] | None:
    try:
        recorded = json.loads(BUILD_INFO.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {"commit": recorded.get("commit"), "dirty": recorded.get("dirty")}


def _git(where: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},  # only read: never lock the index
        )
    except (OSError, subprocess.SubprocessError):  # no git, or it hung
        return None
    return done.stdout if done.returncode == 0 else None
