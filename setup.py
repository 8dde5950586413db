"""The build's one step that pyproject.toml cannot declare: put the app and the code's
git commit into the wheel.

- The app (app.py, ui/, scenarios/, experiments/, .streamlit/config.toml) is copied
  under ``converge_app/web/``, laid out as in the checkout: ``converge app`` runs it
  there, and nothing named ``app`` or ``ui`` is installed at the top of site-packages.
- ``simulation/build_info.json`` records the commit the wheel is built from
  (:mod:`simulation.version` reads it), so that installed code says which commit it is.

Everything else (name, dependencies, the ``converge`` command) is in pyproject.toml.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: The app's files, as globs under the checkout; copied to converge_app/web/.
APP_FILES = (
    "app.py",
    ".streamlit/config.toml",
    "ui/*.py",
    "ui/*.svg",
    "scenarios/*.yaml",
    "experiments/*.yaml",
)


class BuildWithApp(build_py):
    """``build_py``, then the app's files and the commit, into the build folder (not
    for editable installs: they run the checkout's own files and ask git)."""

    def run(self) -> None:
        """Build the packages, then add the app and ``build_info.json``."""
        super().run()
        if self.editable_mode:
            return
        lib = Path(self.build_lib)
        web = lib / "converge_app" / "web"
        shutil.rmtree(web, ignore_errors=True)  # no file left from an earlier build
        for pattern in APP_FILES:
            for source in sorted(ROOT.glob(pattern)):
                target = web / source.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        info = json.dumps(_built_from(), indent=1) + "\n"
        (lib / "simulation" / "build_info.json").write_text(info, encoding="utf-8")


def _built_from() -> dict:
    sys.path.insert(0, str(ROOT))  # the checkout's simulation.version, not an installed one
    try:
        from simulation.version import git_state
    finally:
        sys.path.pop(0)
    return git_state(ROOT / "simulation")


setup(cmdclass={"build_py": BuildWithApp})
