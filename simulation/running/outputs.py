"""Output directories that are written whole or not at all.

``run --out DIR`` and ``compare --out DIR`` write their tables into a fresh directory
beside ``DIR`` and move it into place only once every table is written. So a run
interrupted while writing (Ctrl-C, a full disk) leaves ``DIR`` as it was, and a new
run into an earlier run's directory never leaves stale tables beside the new ones.

The directory is checked *before* the run (a file in the way, no permission), so a
long run is never lost to a typo in ``--out``. An existing ``DIR`` is replaced only
when it holds nothing but an earlier output of Converge: a directory of someone's
other files is refused, never deleted.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from simulation.errors import ScenarioError

#: Names an output of ``run`` or ``compare`` consists of (tables in CSV or Parquet).
OUTPUT_TABLES = {"daily", "items", "units", "events", "changes", "phases", "decisions"}
OUTPUT_FILES = {"kpis.json", "runs.csv", "summary.csv"}


class StagedOutput:
    """A temporary directory beside ``target``; :meth:`commit` moves it into place."""

    def __init__(self, target: Path, option: str = "--out"):
        self.target = Path(target)
        self.option = option
        self._check_target()
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.path = _fresh_directory(parent, f".{self.target.name}.partial")
        except OSError as exc:
            raise ScenarioError(
                option, f"cannot write in {parent} ({exc.strerror or type(exc).__name__})"
            ) from None
        self.committed = False

    def _check_target(self) -> None:
        target = self.target
        for place in (target, *target.parents):
            if place.exists() and not place.is_dir():
                raise ScenarioError(self.option, f"{place} is a file, not a directory")
        if target.is_dir():
            foreign = [p.name for p in target.iterdir() if not _is_output(p)]
            if foreign:
                raise ScenarioError(
                    self.option,
                    f"{target} holds files that are not an earlier output "
                    f"({', '.join(sorted(foreign)[:3])}{', ...' if len(foreign) > 3 else ''}); "
                    "choose a new or empty directory",
                )
            if not os.access(target, os.W_OK):
                raise ScenarioError(self.option, f"{target} cannot be written")

    def commit(self) -> None:
        """Replace ``target`` with what was written, in two renames."""
        old = None
        if self.target.exists():
            old = _fresh_directory(self.target.parent, f".{self.target.name}.old")
            os.replace(self.target, old / self.target.name)
        os.replace(self.path, self.target)
        self.committed = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        """Remove the temporary directory unless it was committed."""
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> StagedOutput:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


def _fresh_directory(parent: Path, prefix: str) -> Path:
    """A new directory with a name nobody else uses (permissions as the umask says)."""
    path = parent / f"{prefix}-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir()
    return path


def _is_output(path: Path) -> bool:
    if not path.is_file():
        return False
    stem, _, suffix = path.name.partition(".")
    return path.name in OUTPUT_FILES or (stem in OUTPUT_TABLES and suffix in ("csv", "parquet"))
