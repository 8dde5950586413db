"""YAML and text files that cannot hurt: every file a user hands Converge comes through here.

Scenario and experiment files come from anyone: an upload in the app, a link, a path on
the command line. Parsing is therefore done within a budget, so that no input of any
size or shape can hang the process or eat its memory:

- files: regular files only (a FIFO or ``/dev/zero`` would block or never end), at most
  :data:`MAX_BYTES`, read with a bounded read, UTF-8;
- YAML: the safe loader (no Python objects), and before anything is built from the
  parsed node graph it is measured: aliases are allowed (a shared ``effort:`` block is
  handy) but the document *as expanded* may hold at most :data:`MAX_NODES` nodes, so an
  alias bomb ("billion laughs": a few hundred bytes that expand to 10^9 nodes) is
  refused in milliseconds; recursive aliases, nesting deeper than :data:`MAX_DEPTH`,
  a scalar longer than :data:`MAX_SCALAR_CHARS` and a key given twice in one mapping
  (YAML would silently keep the last) are refused too.

The limits are far above what a real scenario needs: the largest ready-made one
(``large_enterprise.yaml``) is 3 kB and 300 nodes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from simulation.errors import ScenarioError

#: Largest file read (also the app's upload limit: Streamlit counts whole megabytes).
MAX_BYTES = 1024 * 1024
#: Nodes of a document once its aliases are expanded.
MAX_NODES = 100_000
#: Nesting of mappings and lists.
MAX_DEPTH = 50
#: Characters of one scalar (a description may be long; a number may not).
MAX_SCALAR_CHARS = 20_000

#: The safe loader and dumper, in C where libyaml is installed (ten times faster).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def read_text_file(path: str | Path, limit: int = MAX_BYTES) -> str:
    """The text of a regular file of at most ``limit`` bytes, or ScenarioError."""
    path = Path(path)
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not block; it is refused below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ScenarioError("", "no such file", source) from None
    except IsADirectoryError:
        raise ScenarioError("", "is a directory, not a file", source) from None
    except OSError as exc:
        reason = f"cannot be read ({exc.strerror or type(exc).__name__})"
        raise ScenarioError("", reason, source) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ScenarioError("", "is a directory, not a file", source)
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError("", "is not a regular file (a device, pipe or socket)", source)
        if info.st_size > limit:
            reason = f"is {_size(info.st_size)}; the limit is {_size(limit)}"
            raise ScenarioError("", reason, source)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)  # the file may have grown since fstat
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ScenarioError("", f"is larger than the limit of {_size(limit)}", source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("", "is not a text file (it is not UTF-8)", source) from None


def load_yaml(text: str, source: str | None = None) -> Any:
    """Parse one YAML document within the budget above, or raise ScenarioError."""
    if len(text) > MAX_BYTES:
        raise ScenarioError("", f"is {_size(len(text))}; the limit is {_size(MAX_BYTES)}", source)
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_budget(node, source)
        return loader.construct_document(node)
    except ScenarioError:
        raise
    except yaml.YAMLError as exc:
        raise ScenarioError("", _yaml_problem(exc), source) from None
    except (ValueError, OverflowError, RecursionError) as exc:
        # int() of a number of over 4,300 digits: Python refuses to convert it
        reason = (
            "a number has too many digits"
            if "digits" in str(exc)
            else f"a value cannot be read ({_first_line(exc)})"
        )
        raise ScenarioError("", reason, source) from None
    finally:
        loader.dispose()


def dump_yaml(data: Any) -> str:
    """YAML text of plain data (dicts, lists, scalars), in the order given."""
    return yaml.dump(data, Dumper=_SafeDumper, sort_keys=False, allow_unicode=True)


def _check_budget(root: yaml.Node, source: str | None) -> None:
    """Count the nodes of the expanded document without expanding it.

    An alias is the very node object of its anchor, so sizes are memoised by node
    identity: the walk is linear in the number of distinct nodes, whatever the
    expansion would be."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in in_progress:
            raise ScenarioError("", f"{_at(node)}an alias refers to itself (recursive)", source)
        if depth > MAX_DEPTH:
            raise ScenarioError("", f"{_at(node)}nested deeper than {MAX_DEPTH} levels", source)
        if isinstance(node, yaml.ScalarNode):
            if len(node.value) > MAX_SCALAR_CHARS:
                raise ScenarioError(
                    "", f"{_at(node)}a value of {len(node.value):,} characters is too long", source
                )
            total = 1
        else:
            in_progress.add(key)
            total = 1
            if isinstance(node, yaml.MappingNode):
                _refuse_duplicate_keys(node, source)
                children = [part for pair in node.value for part in pair]
            else:
                children = list(node.value)
            for child in children:
                total += size(child, depth + 1)
                if total > MAX_NODES:
                    break
            in_progress.discard(key)
        if total > MAX_NODES:
            raise ScenarioError(
                "",
                f"expands to more than {MAX_NODES:,} values (through aliases, or simply too large)",
                source,
            )
        sizes[key] = total
        return total

    size(root, 0)


def _refuse_duplicate_keys(node: yaml.MappingNode, source: str | None) -> None:
    seen: set[str] = set()
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
            continue  # complex keys do not occur in our files; merge keys may repeat
        if key.value in seen:
            raise ScenarioError(
                "", f"{_at(key)}the key '{key.value[:40]}' is given twice in one mapping", source
            )
        seen.add(key.value)


def _at(node: yaml.Node) -> str:
    mark = node.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or "malformed"
    return f"not valid YAML{where}: {problem}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:120]


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} kB"
