"""``converge``: the command line of ``python -m simulation``, and ``converge app``.

``converge app [--dry-run] [STREAMLIT OPTIONS...]`` does what ``make app`` does:
``streamlit run app.py`` in the folder that holds app.py and .streamlit/config.toml
(Streamlit reads its settings from the working directory's .streamlit/, so the
server binds to 127.0.0.1 and keeps XSRF protection as from a checkout). Every other
argument goes to Streamlit unchanged (``converge app --server.port 8600``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from simulation import cli

PROG = "converge"
HERE = Path(__file__).resolve().parent
#: Where an installed wheel keeps the app (setup.py copies it there).
BUNDLED_APP = HERE / "web"
#: The Results page reads sweeps here; an installed app would otherwise look inside
#: site-packages (ui/common.py: beside app.py).
RESULTS_ROOT_ENV = "CONVERGE_RESULTS_ROOT"
#: The ready-made files ``converge examples`` copies (experiments name their base
#: scenario as ../scenarios/NAME.yaml, so the two keep their places side by side).
EXAMPLE_FOLDERS = ("scenarios", "experiments")


def main(argv: list[str] | None = None) -> int:
    """Run ``converge ARGS`` (default: ``sys.argv``); returns the exit status.

    ``app`` is handled here, before argparse, because its options are Streamlit's and
    argparse cannot pass unknown options through; the rest is :func:`simulation.cli.main`.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["app"]:
        return run_app(args[1:])
    return cli.main(args, prog=PROG, add_commands=add_converge_commands)


def add_converge_commands(commands: argparse._SubParsersAction) -> None:
    """The commands ``converge`` has beyond ``python -m simulation``: ``app`` (listed for
    ``converge --help``; ``main`` runs it) and ``examples``."""
    commands.add_parser("app", help="open the app in a browser (streamlit run app.py)")
    examples = commands.add_parser(
        "examples",
        help="copy the ready-made scenarios and experiments into a folder",
        description="Copy the ready-made scenarios and experiments that come with Converge "
        "into DIRECTORY/scenarios and DIRECTORY/experiments, to run or edit "
        "(`converge run DIRECTORY/scenarios/siloed.yaml`). Files already there are kept.",
    )
    examples.add_argument("directory", type=Path, help="folder to copy them into (made if new)")
    examples.set_defaults(handler=cmd_examples)


def cmd_examples(args: argparse.Namespace) -> int:
    """``converge examples DIRECTORY``: copy the ready-made files, never over a file
    already there (an edited scenario is someone's work)."""
    source = app_folder()
    copied = kept = 0
    for folder in EXAMPLE_FOLDERS:
        for path in sorted((source / folder).glob("*.yaml")):
            target = args.directory / folder / path.name
            if target.exists():
                kept += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied += 1
    note = f" ({kept} already there, kept)" if kept else ""
    folders = " and ".join(str(args.directory / folder) for folder in EXAMPLE_FOLDERS)
    print(f"copied {copied} files into {folders}{note}")
    return 0


def app_parser() -> argparse.ArgumentParser:
    """The options of ``converge app`` itself; anything else goes to Streamlit."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} app",
        allow_abbrev=False,  # --server.x must never pass for an abbreviation of ours
        description="Open Converge in the browser: `streamlit run app.py` with the app's "
        "settings (.streamlit/config.toml: this machine only, 127.0.0.1). Other options "
        "go to Streamlit, e.g. --server.port 8600 (see `streamlit run --help`). The "
        f"Results page reads sweeps under ./results unless {RESULTS_ROOT_ENV} names "
        "another folder.",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the command, its folder and settings, and start nothing",
    )
    return parser


def run_app(args: list[str]) -> int:
    """``converge app ARGS``: start Streamlit on the app (replacing this process, so that
    Ctrl-C and the exit status are Streamlit's own), or print what would run."""
    own, streamlit_args = app_parser().parse_known_args(args)
    if streamlit_args[:1] == ["--"]:
        streamlit_args = streamlit_args[1:]
    folder = app_folder()
    command = streamlit_command(folder, streamlit_args)
    env = app_environment(os.environ, Path.cwd())
    if own.dry_run:
        print(f"cd {shlex.quote(str(folder))}")
        print(f"{RESULTS_ROOT_ENV}={shlex.quote(env[RESULTS_ROOT_ENV])} {shlex.join(command)}")
        return 0
    if os.name != "posix":  # no exec that keeps the console: wait for it instead
        return subprocess.call(command, cwd=folder, env=env)
    os.chdir(folder)
    os.execve(command[0], command, env)
    return 1  # not reached: execve returns only by raising


def app_folder() -> Path:
    """The folder holding app.py and .streamlit/: the wheel's copy, else the checkout."""
    for folder in (BUNDLED_APP, HERE.parent):
        if (folder / "app.py").is_file() and (folder / "ui").is_dir():
            return folder
    raise SystemExit(f"error: the app's files are missing (looked in {BUNDLED_APP})")


def streamlit_command(folder: Path, streamlit_args: list[str]) -> list[str]:
    """``python -m streamlit run FOLDER/app.py ARGS``, with this interpreter (the one
    Converge is installed in)."""
    return [sys.executable, "-m", "streamlit", "run", str(folder / "app.py"), *streamlit_args]


def app_environment(environ: dict[str, str] | os._Environ, cwd: Path) -> dict[str, str]:
    """The app's environment: ``environ`` with the Results page's folder set to
    ``cwd/results`` unless it names one already."""
    env = dict(environ)
    if not env.get(RESULTS_ROOT_ENV, "").strip():
        env[RESULTS_ROOT_ENV] = str(cwd / "results")
    return env
