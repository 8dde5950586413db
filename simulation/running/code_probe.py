"""What code a Dask scheduler or worker runs, asked in a way any of them can answer.

:func:`report` is sent to the other process *by value* (:func:`register`), not by name:
a process with an older Converge, or none, could not load it by name and would only
answer with an import error. Sent by value, it imports what it can there and reports
it, so a refusal names the version the process runs. Standard library only, for the
same reason.
"""

from __future__ import annotations

import sys
from typing import Any


def report() -> dict[str, Any]:
    """This process's code identity (``simulation.version.code_identity``, or
    ``version_info`` in a Converge older than it), or ``{"error": ...}`` where Converge
    cannot be imported."""
    try:
        import simulation.version as version
    except Exception as error:  # no Converge here, or a broken one
        return {"error": f"{type(error).__name__}: {error}"}
    identity = getattr(version, "code_identity", None) or version.version_info
    try:
        return identity()
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}


def register() -> None:
    """Have Dask (through cloudpickle) send :func:`report` by value."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
