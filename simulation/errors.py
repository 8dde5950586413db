"""The one error bad input raises, and how a bad value is quoted in its message.

Every front (command line, app, sweeps) shows a :class:`ScenarioError` as one line:
``source: field.path: reason``. Values are quoted short, so that no message can grow
with its input (a megabyte of YAML quoted back would itself be an attack).
"""

from __future__ import annotations

from typing import Any

#: Characters of a bad value a message quotes at most.
QUOTE_CHARS = 80


class ScenarioError(ValueError):
    """Input that cannot be used: ``field`` is the dotted path, ``reason`` says why."""

    def __init__(self, field: str, reason: str, source: str | None = None):
        self.field = field
        self.reason = reason
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {reason}" if field else f"{where}{reason}")

    def __reduce__(self) -> tuple[type[ScenarioError], tuple[str, str, str | None]]:
        """Pickle by its fields: a worker process that refuses a job (other source files)
        sends this error back, and an error that cannot be rebuilt breaks the pool."""
        return type(self), (self.field, self.reason, self.source)


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, on one line.

    Containers are summarised rather than printed: their repr alone could take
    minutes and gigabytes when YAML aliases made them share structure."""
    if isinstance(value, dict):
        return f"a mapping of {_count(len(value), 'entry', 'entries')}"
    if isinstance(value, list | tuple | set):
        return f"a list of {_count(len(value), 'item', 'items')}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"a whole number of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value).replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"
