"""The command line: ``python -m simulation run | compare | validate | schema | parameters |
sweep | analyze``.

A thin front over :mod:`simulation.running.runs` and :mod:`simulation.analysis.metrics`. Bad input
(a malformed scenario, an impossible organisation, an out-of-range value, an unusable
``--out``) prints one line naming the field and the reason and exits with code 2,
before anything runs. Commands import what they need when they run: ``validate`` and
``schema`` answer in a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simulation.catalog import kpis as catalog
from simulation.errors import ScenarioError, quote
from simulation.inputs.scenario import json_schema, load_scenario
from simulation.limits import MAX_HORIZON_DAYS, MAX_REPLICATES, MAX_RUNS, MAX_SEED

if TYPE_CHECKING:
    import pandas as pd

EXIT_BAD_INPUT = 2
# robustness: plausible worlds unless asked otherwise: enough for a win share within about
# +-6 points (95% Wilson at 50%) and PRIM boxes of 5% of the worlds (13 worlds); two
# replicates per world and design, so that a world's winner can be tested against its
# runner-up (a t-interval needs two): 256 x 3 x 2 = 1,536 runs for the three
# ready-made structures, well inside issue 13's ten minutes on two cores.
DEFAULT_WORLDS = 256
DEFAULT_ROBUSTNESS_REPLICATES = 2
EXIT_FAILED = 1
PROG = "python -m simulation"

#: Adds subcommands to the parser's subparsers (the ``converge`` command adds ``app``).
AddCommands = Callable[[Any], None]

# explain (issue 13): its defaults, read by --help (simulation/analysis/explain.py says why)
EXPLAIN_REPLICATES = 5
EXPLAIN_ORDERS = 8
EXPLAIN_EXACT_UP_TO = 6


def main(
    argv: list[str] | None = None, prog: str = PROG, add_commands: AddCommands | None = None
) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv``); returns the exit status.

    Bad input is one ``error: ...`` line on stderr and exit 2; a full disk or a vanished
    directory is one line and exit 1; Ctrl-C exits 130. None of them shows a traceback.
    ``prog`` and ``add_commands`` are :func:`build_parser`'s: the installed ``converge``
    command is this one under its own name, with ``app`` added.
    """
    parser = build_parser(prog, add_commands)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`... | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as exc:  # a full disk, a vanished directory: one line, not a traceback
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED


def build_parser(
    prog: str = PROG, add_commands: AddCommands | None = None
) -> argparse.ArgumentParser:
    """The argument parser: one subcommand per ``cmd_*`` function, set as its ``handler``,
    named ``prog`` in its messages; ``add_commands`` may add more subcommands."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Converge: simulate siloed, aligned and converged organisations.",
    )
    parser.add_argument(
        "--version",
        action=_PrintVersion,
        help="print the version and the git commit of the code, and exit",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if add_commands is not None:
        add_commands(commands)

    run = commands.add_parser(
        "run",
        help="run one scenario and write its outputs",
        description="Run one scenario; print its KPIs and write "
        "kpis.json, the daily series, the per-item table and the event log.",
    )
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--seed", type=_run_seed, help="random seed (default: the scenario's)")
    run.add_argument("--days", type=_days, help="horizon in working days")
    run.add_argument("--out", type=Path, help="directory for the outputs (default: none)")
    run.add_argument(
        "--format", choices=["csv", "parquet"], default="csv", help="table format (default csv)"
    )
    run.set_defaults(handler=cmd_run)

    compare = commands.add_parser(
        "compare",
        help="compare scenarios over replicates",
        description="Run each scenario with the same seeds and print the KPIs side by side "
        "as mean with 95% confidence interval, and the change against the first.",
    )
    compare.add_argument("scenarios", type=Path, nargs="+", help="two or more scenario files")
    compare.add_argument(
        "--replicates",
        type=_replicates,
        default=10,
        help=f"runs per scenario (default 10, at most {MAX_REPLICATES:,})",
    )
    compare.add_argument("--seed", type=_seed, help="first seed (default: the first scenario's)")
    compare.add_argument("--days", type=_days, help="horizon in working days")
    _executor_options(compare)
    compare.add_argument("--out", type=Path, help="write runs.csv and summary.csv here")
    compare.set_defaults(handler=cmd_compare)

    validate = commands.add_parser(
        "validate",
        help="check scenario files",
        description="Check scenario files without running them.",
    )
    validate.add_argument("scenarios", type=Path, nargs="+")
    validate.set_defaults(handler=cmd_validate)

    sweep = commands.add_parser(
        "sweep",
        help="run an experiment: a sweep of parameters x replicates",
        description="Run every point of an experiment file, replicates times, on local "
        "processes or a Dask cluster. Results are written as they arrive; an interrupted "
        "sweep continues with --resume.",
    )
    sweep.add_argument("experiment", type=Path, help="experiment YAML file")
    sweep.add_argument("--out", type=Path, required=True, help="directory for the results")
    _executor_options(sweep)
    sweep.add_argument(
        "--chunk-size",
        type=_positive_int,
        help="runs per task (default: big chunks first, single runs last, at most 25)",
    )
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="continue a sweep in --out, skipping runs already written; refused when the "
        "experiment, its base scenario, the code or the libraries changed since it started",
    )
    sweep.add_argument(
        "--allow-code-change",
        action="store_true",
        help="with --resume: continue even though the code (git commit, package or library "
        "versions) changed since the sweep started; its rows then mix both",
    )
    sweep.add_argument("--daily", action="store_true", help="also keep every run's daily series")
    sweep.add_argument(
        "--max-runs",
        type=_positive_int,
        default=MAX_RUNS,
        help=f"refuse designs of more runs than this (default {MAX_RUNS:,}; a sweep "
        "resolves every point before its first run)",
    )
    sweep.set_defaults(handler=cmd_sweep)

    analyze = commands.add_parser(
        "analyze",
        help="summarise a sweep: KPIs per configuration, sensitivity, charts",
        description="Print each configuration's KPIs as mean [95% CI], a sensitivity table "
        "(standardised regression coefficients), and write charts to DIR/charts.",
    )
    analyze.add_argument("directory", type=Path, help="the --out directory of a sweep")
    analyze.add_argument(
        "--kpi",
        action="append",
        dest="kpis",
        metavar="KPI",
        help="a KPI to analyse (repeatable; default: the headline KPIs)",
    )
    analyze.add_argument("--no-charts", action="store_true", help="print tables only")
    analyze.add_argument(
        "--format",
        choices=["png", "svg"],
        default="png",
        help="image format of the charts, besides HTML (default png)",
    )
    analyze.set_defaults(handler=cmd_analyze)

    schema = commands.add_parser(
        "schema",
        help="print the scenario JSON Schema",
        description="Print the JSON Schema of a scenario file.",
    )
    schema.set_defaults(handler=cmd_schema)

    parameters = commands.add_parser(
        "parameters",
        help="print every scenario parameter: default, range, unit, source",
        description="Print the parameter catalog: every field of a scenario with its "
        "default, the range a sensitivity analysis should cover, its unit and its source.",
    )
    parameters.add_argument(
        "--format",
        default="table",
        metavar="table|csv|json|markdown",
        help="output format (default table; markdown is docs/parameters.md)",
    )
    parameters.add_argument(
        "--mechanism", metavar="NAME", help="only the entries of this mechanism or section"
    )
    parameters.set_defaults(handler=cmd_parameters)

    # robustness: how sure (issue 13, item 3)
    robustness = commands.add_parser(
        "robustness",
        help="how sure: which design wins across plausible worlds, and where it loses",
        description="Run every design in plausible worlds (a Latin hypercube over the "
        "catalog's parameter ranges, the same seeds for every design) and print, per KPI, "
        "the share of worlds each design wins, its regret, and the parameter region where "
        "the favourite loses (PRIM). Writes CSV and charts; resumable with --resume.",
    )
    robustness.add_argument(
        "scenarios", type=Path, nargs="+", help="two or more scenario files (the first is the base)"
    )
    robustness.add_argument(
        "--worlds",
        type=lambda text: _whole_number(text, 1, MAX_RUNS),
        default=DEFAULT_WORLDS,
        help=f"plausible worlds to sample (default {DEFAULT_WORLDS})",
    )
    robustness.add_argument(
        "--parameters",
        nargs="+",
        metavar="PATH",
        help="the parameters the worlds vary (default: every catalog parameter the designs "
        "leave open and give work to; python -m simulation parameters lists them)",
    )
    robustness.add_argument(
        "--replicates",
        type=_replicates,
        default=DEFAULT_ROBUSTNESS_REPLICATES,
        help=f"runs per world and design (default {DEFAULT_ROBUSTNESS_REPLICATES})",
    )
    robustness.add_argument("--seed", type=_seed, help="first seed (default: the first scenario's)")
    _study_options(robustness, "robustness")
    robustness.set_defaults(handler=cmd_robustness)

    # --------------------------------------------------------------- explain (issue 13)
    explain = commands.add_parser(
        "explain",
        help="explain the gap between two designs: what differs, and the mechanisms",
        description="Split the gap in each KPI between design A and design B into the "
        "contributions of what differs (the structure, each lever, each headcount) and of "
        "the mechanisms that carry it, as Shapley values with 95% intervals over common "
        f"random numbers (exact up to {EXPLAIN_EXACT_UP_TO} players, sampled beyond); writes "
        "contributions.csv, replicates.csv and waterfall charts into --out.",
    )
    explain.add_argument("a", type=Path, help="design A (the baseline) scenario file")
    explain.add_argument("b", type=Path, help="design B scenario file")
    explain.add_argument(
        "--replicates",
        type=_replicates,
        default=EXPLAIN_REPLICATES,
        help=f"runs per point (default {EXPLAIN_REPLICATES})",
    )
    explain.add_argument(
        "--orders",
        type=_positive_int,
        default=EXPLAIN_ORDERS,
        help=f"orders sampled where there are too many players for exact values "
        f"(default {EXPLAIN_ORDERS}, in antithetic pairs)",
    )
    explain.add_argument(
        "--group",
        action="append",
        dest="groups",
        default=[],
        metavar="NAME=FIELD,FIELD",
        help="treat these differing fields as one factor NAME (repeatable), e.g. "
        "--group business=levers.shared_language --group it=levers.transparency",
    )
    explain.add_argument("--seed", type=_seed, help="first seed (default: A's)")
    _study_options(explain, "explain")
    explain.set_defaults(handler=cmd_explain)

    # ------------------------------------------------------------------ sensitivity
    sensitivity = commands.add_parser(
        "sensitivity",
        help="which unknown parameters decide the KPIs, or the gap between two designs",
        description="Global sensitivity over the catalog's parameter ranges: Morris "
        "screening (mu*, sigma) or Sobol first-order and total indices, each with 95% "
        "bootstrap intervals, for the KPIs of SCENARIO or, with --versus, for the gap "
        "B - A on the same parameter sample and seeds. Runs as a resumable sweep; "
        "writes sensitivity.csv and charts/ into --out.",
    )
    sensitivity.add_argument("scenario", type=Path, help="scenario YAML file (design A)")
    sensitivity.add_argument(
        "--versus", type=Path, metavar="B.yaml", help="a second design: analyse the gap B - A"
    )
    sensitivity.add_argument(
        "--method",
        default="morris",
        metavar="morris|sobol",
        help="morris (screening, the default: run it first) or sobol",
    )
    sensitivity.add_argument(
        "--parameters",
        nargs="+",
        metavar="PATH",
        help="the parameters to vary, by dotted path (disciplines.dev.cost_per_day for a "
        "list item); default: every catalog parameter that can act in the scenario(s)",
    )
    sensitivity.add_argument(
        "--screen",
        type=Path,
        metavar="DIR",
        help="vary the --top parameters a Morris study in DIR (of the same designs) found "
        "most influential: Sobol where the budget allows",
    )
    sensitivity.add_argument(
        "--top",
        type=_positive_int,
        default=SCREEN_TOP,
        help=f"with --screen: how many parameters to keep (default {SCREEN_TOP})",
    )
    sensitivity.add_argument(
        "--trajectories",
        type=_positive_int,
        default=SENSITIVITY_TRAJECTORIES,
        help=f"Morris: one-at-a-time paths (default {SENSITIVITY_TRAJECTORIES}; runs = "
        "trajectories x (parameters + 1) x replicates)",
    )
    sensitivity.add_argument(
        "--levels",
        type=_positive_int,
        default=4,
        help="Morris: grid levels per parameter, even (default 4)",
    )
    sensitivity.add_argument(
        "--samples",
        type=_positive_int,
        default=SENSITIVITY_SAMPLES,
        help=f"Sobol: base samples, a power of two (default {SENSITIVITY_SAMPLES}; runs = "
        "samples x (parameters + 2) x replicates)",
    )
    sensitivity.add_argument(
        "--replicates",
        type=_replicates,
        help="runs per point, on seeds shared by every point (default 2 for morris, which "
        "measures the replicate noise, 1 for sobol)",
    )
    sensitivity.add_argument(
        "--seed",
        type=_seed,
        default=2026,
        help="seed of the design and of replicate 0 (default 2026)",
    )
    _study_options(sensitivity, "sensitivity")
    sensitivity.set_defaults(handler=cmd_sensitivity)
    return parser


def _study_options(parser: argparse.ArgumentParser, kind: str) -> None:
    """The options every study (explain, sensitivity, robustness) shares with ``sweep``:
    which KPIs, the horizon, where it runs and writes, resuming, and its charts."""
    parser.add_argument(
        "--kpi",
        action="append",
        dest="kpis",
        metavar="KPI",
        help="a KPI to analyse (repeatable; default: the headline KPIs)",
    )
    parser.add_argument("--days", type=_days, help="horizon in working days")
    _executor_options(parser)
    parser.add_argument(
        "--out", type=Path, help=f"directory for the study (default: results/{kind}-<UTC time>)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the study in --out (as sweep --resume)"
    )
    parser.add_argument(
        "--allow-code-change", action="store_true", help="as sweep --allow-code-change"
    )
    parser.add_argument(
        "--max-runs",
        type=_positive_int,
        default=MAX_RUNS,
        help=f"refuse studies of more runs than this (default {MAX_RUNS:,})",
    )
    parser.add_argument("--no-charts", action="store_true", help="print tables only")
    parser.add_argument(
        "--format", choices=["png", "svg"], default="png", help="chart images (default png)"
    )


class _PrintVersion(argparse.Action):
    """``--version``: asks git only when given (``argparse``'s own action would build the
    text, and so run git, for every command)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from simulation.version import describe

        print(f"converge {describe()}")
        parser.exit()


def _whole_number(text: str, low: int, high: int) -> int:
    try:
        value = int(text.strip()) if len(text) <= 30 else None
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"'{text[:30]}' is not a whole number")
    if value < low:
        raise argparse.ArgumentTypeError(f"{value} must be at least {low:,}")
    if value > high:
        raise argparse.ArgumentTypeError(f"{value:,} must be at most {high:,}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1, 10**9)


def _seed(text: str) -> int:
    """A first seed: every replicate's seed (first + replicate) is a seed too."""
    return _whole_number(text, 0, MAX_SEED - MAX_REPLICATES)


def _run_seed(text: str) -> int:
    """One run's seed: any seed a comparison or a sweep wrote beside its results."""
    return _whole_number(text, 0, MAX_SEED)


def _executor_options(command: argparse.ArgumentParser) -> None:
    """--workers, --cluster and --connect-timeout: where the runs go (executors.py)."""
    command.add_argument(
        "--workers",
        type=_positive_int,
        help="local processes, or LocalCluster workers (default: one per core; at most "
        "one per core). Given without --cluster, it chooses local processes even when "
        "DASK_SCHEDULER_ADDRESS is set",
    )
    command.add_argument(
        "--cluster",
        metavar="none|local|slurm|pbs|ADDRESS",
        help="'none': local processes without Dask; 'local': a Dask LocalCluster; "
        "'slurm', 'pbs': Dask workers in batch jobs, set up in dask-jobqueue's "
        "jobqueue.yaml (--workers: how many; default one job's); "
        "tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT: an existing Dask scheduler "
        "(default: $DASK_SCHEDULER_ADDRESS when set and --workers is not given, else none)",
    )
    command.add_argument(
        "--connect-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long to wait for a Dask scheduler before giving up (default 5)",
    )


def _executor(args: argparse.Namespace):
    """The executor ``args`` ask for (a one-line error for a bad choice, before any
    worker or cluster starts)."""
    from simulation.running.executors import executor_for

    if not 0 < args.connect_timeout <= 600:
        raise ScenarioError("--connect-timeout", "must be more than 0 and at most 600 seconds")
    return executor_for(args.cluster, args.workers, connect_timeout=args.connect_timeout)


def _days(text: str) -> int:
    return _whole_number(text, 1, MAX_HORIZON_DAYS)


def _replicates(text: str) -> int:
    return _whole_number(text, 1, MAX_REPLICATES)


# --------------------------------------------------------------------------- commands


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the scenario file's JSON Schema (for editors that validate YAML)."""
    print(json.dumps(json_schema(), indent=2))
    return 0


def cmd_parameters(args: argparse.Namespace) -> int:
    """Print the catalog of parameters (all, or one mechanism's) as a table.

    ``--format`` and ``--mechanism`` are checked here rather than by argparse's choices,
    so that a bad value is one ``error:`` line like every other bad input.
    """
    from simulation.catalog.parameters import MECHANISMS, PARAMETERS
    from simulation.presentation.parameter_table import FORMATS

    # checked here, not by argparse's choices, so that a bad value is one line
    if args.format not in FORMATS:
        raise ScenarioError(
            "--format", f"{quote(args.format)} is not a format (known: {', '.join(FORMATS)})"
        )
    if args.mechanism is not None and args.mechanism not in MECHANISMS:
        raise ScenarioError(
            "--mechanism",
            f"{quote(args.mechanism)} is not a mechanism (known: {', '.join(MECHANISMS)})",
        )
    chosen = [p for p in PARAMETERS if args.mechanism in (None, p.mechanism)]
    print(FORMATS[args.format](chosen))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate each scenario file and print a line about it; stop at the first bad one."""
    for path in args.scenarios:
        scenario = load_scenario(path)
        print(
            f"{path}: ok ({scenario.structure}, {scenario.total_staff} staff, "
            f"{len(scenario.work_types)} work types)"
        )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run one scenario, print its KPIs (and path), and write its outputs with ``--out``.

    The output directory is staged and only committed once every file is written, so an
    interrupted run leaves no half-written folder.
    """
    from simulation.running.outputs import StagedOutput
    from simulation.running.runs import run_scenario

    scenario = load_scenario(args.scenario)
    days = args.days or scenario.horizon_days
    staged = StagedOutput(args.out) if args.out else None  # checked before the run
    try:
        with _progress(total=days, desc=scenario.name, unit="day", leave=False) as bar:
            result = run_scenario(
                scenario, seed=args.seed, days=args.days, on_day=lambda day, _: bar.update(1)
            )
        _print_run(scenario, result)
        if staged is not None:
            write_run(result, staged.path, args.format)
            staged.commit()
            print(
                f"\nWrote kpis.json, daily, items, units and events ({args.format}) to {args.out}"
            )
    finally:
        if staged is not None:
            staged.discard()
    return 0


def _progress(**options: Any):
    """A progress bar on stderr that shows only after a second."""
    from tqdm.auto import tqdm

    # No monitor thread: worker processes can then be forked (runs.py).
    tqdm.monitor_interval = 0
    return tqdm(delay=1.0, file=sys.stderr, **options)


def _print_run(scenario, result) -> None:
    from simulation.analysis.metrics import delivery_note
    from simulation.analysis.steady_state import overload_note

    kpis = result.kpis
    print(
        f"{scenario.name} ({scenario.structure}, {scenario.total_staff} staff, "
        f"seed {kpis['seed']}, {kpis['days']} days)\n"
    )
    print(kpi_table([kpis], [scenario.name]))
    print(
        f"\nDORA tier: {kpis['dora_tier']}{' (overloaded)' if kpis.get('overloaded') else ''}"
        f"   Bottleneck: {kpis.get('bottleneck', 'n/a')} "
        f"({_percent(kpis.get('bottleneck_utilisation', math.nan))} busy)"
    )
    for note in (overload_note(kpis), delivery_note(kpis)):
        if note:
            print(f"\nNote: {note}")
    print_transition(result)


def print_transition(result) -> None:
    """The path of a transition: KPIs per phase of each change, and PDCA decisions."""
    from simulation.analysis.metrics import phase_table

    phases = phase_table(result.records)
    if not phases.empty:
        print("\nChanges: KPIs before, during and after each (items delivered in the phase)\n")
        rows = [
            [
                f"day {r.change_day:g}",
                r.label,
                r.phase,
                f"{r.from_day:g}-{r.to_day:g}",
                _fmt("lead_time_mean", r.lead_time_mean),
                _fmt("new_work_per_week", r.new_work_per_week),
                _fmt("cx_index", r.cx_index),
                _fmt("change_failure_rate", r.change_failure_rate),
            ]
            for r in phases.itertuples()
        ]
        print(
            _layout(
                rows, ["change", "what", "phase", "days", "lead time", "new work/wk", "CX", "CFR %"]
            )
        )
        k = result.kpis
        print(
            f"\nTime to recover the lead time before the first change: "
            f"{_fmt('recovery_days', k.get('recovery_days'))} days; productivity lost to "
            f"the dip: {_fmt('productivity_lost_days', k.get('productivity_lost_days'))} "
            f"person-days; transition cost {_fmt('transition_cost', k.get('transition_cost'))}k"
        )
    decisions = result.records.decisions
    if decisions is not None and not decisions.empty:
        print("\nPDCA decisions\n")
        rows = [
            [
                f"day {d.day:g}",
                str(d.lever),
                f"{d._3:g} -> {d.to:g}",
                str(d.decision),
                str(d.reason),
            ]
            for d in decisions.itertuples()
        ]
        print(_layout(rows, ["when", "lever", "change", "decision", "why"]))


def cmd_compare(args: argparse.Namespace) -> int:
    """Run replicates of several scenarios, print their KPIs with confidence intervals
    against the first, and write runs.csv and summary.csv with ``--out``.
    """
    from simulation.analysis.differences import unique_names
    from simulation.running.executors import executor_notes
    from simulation.running.outputs import StagedOutput

    scenarios = [load_scenario(p) for p in args.scenarios]
    names = unique_names([s.name for s in scenarios])
    total = len(scenarios) * args.replicates
    staged = StagedOutput(args.out) if args.out else None  # checked before the runs
    try:
        with _executor(args) as executor:
            notes = executor_notes(executor, args.workers)
            if executor.name == "dask" or len(notes) > 1:  # no choice made silently
                print(f"note: runs on {executor.name} ({', '.join(notes)})", file=sys.stderr)
            _compare(args, scenarios, names, total, staged, executor)
    finally:
        if staged is not None:
            staged.discard()
    return 0


def _compare(args, scenarios, names, total, staged, executor) -> None:
    from simulation.analysis.differences import difference_note
    from simulation.analysis.metrics import delivery_note, mode, summarise
    from simulation.analysis.steady_state import replicates_overload_note
    from simulation.analysis.warmup import replicates_warmup_note, wip_table
    from simulation.running.runs import run_replicates_with_wip

    with _progress(total=total, desc="runs", unit="run", leave=False) as bar:
        runs, wip = run_replicates_with_wip(
            scenarios,
            args.replicates,
            seed=args.seed,
            days=args.days,
            executor=executor,
            on_done=lambda done, _: bar.update(done - bar.n),
        )
    print(
        f"{args.replicates} replicates each: mean [95% confidence interval]; change "
        f"against {names[0]} (pts: percentage points).\n"
    )
    print(kpi_table_replicates(runs, names))
    tiers = "   ".join(
        f"{n}: {mode([r['dora_tier'] for r in rs])}" for n, rs in zip(names, runs, strict=True)
    )
    print(f"\nDORA tier (most common): {tiers}")
    for name, scenario, rs, ws in zip(names, scenarios, runs, wip, strict=True):
        if all(delivery_note(r) for r in rs):
            print(f"Note: {name}: {delivery_note(rs[0])}")
        if overloaded := replicates_overload_note(rs):
            print(f"Note: {name}: {overloaded}")
        # issue 10: a warm-up too short for the mean WIP of the replicates is said
        if warm := replicates_warmup_note(wip_table(ws), scenario.warmup_days, rs):
            print(f"Note: {name}: {warm}")
    # issue 10: a gap is the structure's only when nothing else differs
    print("\n" + "\n".join(difference_note(names, scenarios)))
    if staged is not None:
        import pandas as pd

        frame = pd.concat(
            [
                pd.DataFrame(rs).assign(scenario=n, replicate=range(len(rs)))
                for n, rs in zip(names, runs, strict=True)
            ],
            ignore_index=True,
        )
        frame.to_csv(staged.path / "runs.csv", index=False)
        pd.concat(
            {n: summarise(rs) for n, rs in zip(names, runs, strict=True)}, names=["scenario"]
        ).to_csv(staged.path / "summary.csv")
        staged.commit()
        print(f"\nWrote runs.csv and summary.csv to {args.out}")


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run an experiment's design (points x replicates) into ``--out``, resumable.

    A bad ``--cluster``, ``--out`` or ``--resume`` is refused before any worker starts;
    Ctrl-C closes the executor and says how to resume with ``--resume``.
    """
    from simulation.inputs.experiment import load_experiment
    from simulation.running.batch import check_output, sweep
    from simulation.running.executors import choose_executor, executor_notes

    plan = load_experiment(args.experiment, max_runs=args.max_runs)
    total = plan.run_count
    # Refuse a bad --cluster, --out or --resume before any worker or cluster starts.
    choose_executor(args.workers, args.cluster)
    check_output(plan, args.out, args.resume, args.allow_code_change)
    executor = _executor(args)
    print(
        f"{plan.experiment.name}: {plan.point_count:,} points x "
        f"{plan.experiment.replicates:,} replicates = {total:,} runs on {executor.name} "
        f"({', '.join(executor_notes(executor, args.workers))})",
        file=sys.stderr,
    )
    bars = []  # made at the first report: a resumed sweep's bar starts at what is written

    def progress(done: int, _: int) -> None:
        if not bars:  # initial=: the rate and time left count only this call's runs
            bars.append(
                _progress(total=total, initial=done, desc="runs", unit="run", smoothing=0.1)
            )
        bars[0].update(done - bars[0].n)

    try:
        outcome = sweep(
            plan,
            args.out,
            executor,
            resume=args.resume,
            chunk_size=args.chunk_size,
            daily=args.daily,
            on_progress=progress,
            allow_code_change=args.allow_code_change,
        )
    except KeyboardInterrupt:
        executor.close()  # first, so that nothing prints after the message
        written = bars[0].n if bars else 0
        for bar in bars:
            bar.close()
        print(
            f"interrupted: {written} of {total} runs are written in {args.out}; run the same "
            "command with --resume to finish",
            file=sys.stderr,
        )
        return 130
    finally:
        for bar in bars:
            bar.close()
        executor.close()
    skipped = f" ({outcome.skipped} already written)" if outcome.skipped else ""
    errors = f"; {outcome.errors} raised (see the error column)" if outcome.errors else ""
    rate = outcome.ran / outcome.elapsed_s if outcome.elapsed_s > 0 else 0.0
    print(f"{outcome.ran} runs in {outcome.elapsed_s:.1f} s ({rate:.1f} runs/s){skipped}{errors}.")
    print(f"Results: {args.out / 'results.parquet'}  (python -m simulation analyze {args.out})")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    """Summarise a sweep directory: a table per configuration with 95% intervals,
    standardised regression coefficients, and charts; writes configurations.csv,
    sensitivity.csv and charts/ into it.
    """
    from simulation.analysis.sweep_stats import (
        configuration_table,
        format_sensitivity,
        overloaded_notes,
        parameter_columns,
        sensitivity,
    )
    from simulation.running.batch import MANIFEST, load_results, read_manifest
    from simulation.running.studies import study_spec

    # a study (issue 13) is shown as its own analysis; the manifest is read once
    has_manifest = (args.directory / MANIFEST).is_file()
    kind = (study_spec(args.directory) or {}).get("kind") if has_manifest else None
    studies = {
        "explain": analyze_explain,
        "robustness": analyze_robustness,
        "sensitivity": analyze_sensitivity,
    }
    if kind in studies:
        return studies[kind](args.directory, args.kpis, not args.no_charts, args.format)
    results = load_results(args.directory)
    manifest = read_manifest(args.directory)
    if results.empty:
        raise ScenarioError("", "holds no finished runs yet", str(args.directory))
    kpis = args.kpis or [k for k in catalog.sweep_kpis() if k in results.columns]
    unknown = [k for k in kpis if k not in results.columns]
    if unknown:
        raise ScenarioError("--kpi", f"unknown KPI {', '.join(unknown)}")
    parameters = parameter_columns(results, manifest)
    table = configuration_table(results, parameters, kpis)
    errors = int((results["status"] == "error").sum())
    print(
        f"{manifest['experiment']['name']}: {len(results)} runs "
        f"({errors} errors), {manifest.get('status', 'unknown')}.\n"
    )
    shown = kpis[:4]
    rows = [
        [
            *(_fmt_param(row[p]) for p in parameters),
            str(int(row["runs"])),
            *(
                _with_interval(
                    k,
                    {"mean": row[k], "ci_low": row[f"{k}_ci_low"], "ci_high": row[f"{k}_ci_high"]},
                )
                for k in shown
            ),
        ]
        for _, row in table.iterrows()
    ]
    header = [*parameters, "runs", *(catalog.label(k) for k in shown)]
    print(_grid(rows, header))
    if len(kpis) > len(shown):
        print(f"(all {len(kpis)} KPIs with intervals: {args.directory / 'configurations.csv'})")
    for note in overloaded_notes(results, parameters):
        print(f"Note: {note}")
    table.to_csv(args.directory / "configurations.csv", index=False)
    src = sensitivity(results, parameters, kpis)
    print(
        "\nSensitivity: standardised regression coefficients (SRC; +1 = one standard "
        "deviation up per standard deviation of the parameter); R2 = share explained.\n"
    )
    print(format_sensitivity(src))
    if not src.empty:
        src.to_csv(args.directory / "sensitivity.csv")
    if not args.no_charts and parameters:
        from simulation.presentation.sweep_charts import sweep_charts

        written = write_charts(
            sweep_charts(results, table, parameters, kpis), args.directory / "charts", args.format
        )
        print(f"\nCharts: {len(written)} files in {args.directory / 'charts'}")
    return 0


# --------------------------------------------------------------- explain (issue 13)


def cmd_explain(args: argparse.Namespace) -> int:
    """Explain the gap from design A to design B: run the study (points x replicates,
    common random numbers) into ``--out``, then print and write its analysis
    (:func:`analyze_explain`)."""
    from simulation.analysis.explain import design, parse_groups
    from simulation.running.studies import Study

    a, b = load_scenario(args.a), load_scenario(args.b)
    kpis = _study_kpis(args.kpis)
    seed = a.seed if args.seed is None else args.seed
    points, spec = design(a, b, kpis, parse_groups(args.groups), args.orders, seed)
    study = Study("explain", f"explain: {a.name} -> {b.name}", a, points, args.replicates,
                  seed, spec, args.days)  # fmt: skip
    out = args.out or _study_folder("explain")
    counts = f"{study.name}: {len(points)} points x {args.replicates} replicates"
    if _run_study(args, study, out, counts) is None:
        return 130
    return analyze_explain(out, None, not args.no_charts, args.format)


def _study_kpis(kpis: list[str] | None) -> list[str]:
    """The KPIs a study analyses: those asked for (each checked), else the headline ones."""
    from simulation.analysis.comparison import card_kpis

    chosen = kpis or card_kpis()
    unknown = [k for k in chosen if catalog.find_kpi(k) is None]
    if unknown:
        raise ScenarioError("--kpi", f"{quote(unknown[0])} is not a KPI (known: "
                            f"{', '.join(k.key for k in catalog.KPIS)})")  # fmt: skip
    return list(dict.fromkeys(chosen))


@dataclass(frozen=True)
class _StudyFiles:
    """A study directory as read once: its spec, its rows so far and its manifest."""

    spec: dict[str, Any]
    results: pd.DataFrame
    manifest: dict[str, Any]

    @property
    def replicates(self) -> int:
        """Replicates per point, as the manifest records them."""
        return int((self.manifest.get("experiment") or {}).get("replicates") or 1)

    @property
    def points(self) -> int:
        """Points of the study's design."""
        return len((self.manifest.get("experiment") or {}).get("points") or [])


def _read_study(directory: Path) -> _StudyFiles:
    from simulation.running.batch import read_manifest
    from simulation.running.studies import load_study

    spec, results = load_study(directory)
    return _StudyFiles(spec, results, read_manifest(directory))


def _finished_study(directory: Path) -> _StudyFiles:
    """A study as :func:`_read_study` reads it, or one line saying it has no finished
    runs yet."""
    study = _read_study(directory)
    if study.results.empty:
        raise ScenarioError("", "holds no finished runs yet", str(directory))
    return study


def _run_study(
    args: argparse.Namespace,
    study: Any,
    out: Path,
    counts: str,
    notes: Callable[[], None] | None = None,
) -> Any:
    """Run ``study`` into ``out`` as ``sweep`` runs an experiment: refused before any
    worker starts when the options or ``out`` are wrong, on the executor the options
    name, under a progress bar. Prints ``counts`` (what the runs are) with the total
    and the executor first, then ``notes()``, and a line when done. Returns the
    outcome, or None when Ctrl-C stopped it (after saying how to resume)."""
    from simulation.running.batch import check_output
    from simulation.running.executors import choose_executor, executor_notes
    from simulation.running.studies import run_study

    plan = study.plan(args.max_runs)
    choose_executor(args.workers, args.cluster)
    check_output(plan, out, args.resume, args.allow_code_change)
    executor = _executor(args)
    total = plan.run_count
    print(
        f"{counts} = {total} runs on {executor.name} "
        f"({', '.join(executor_notes(executor, args.workers))}); results in {out}",
        file=sys.stderr,
    )
    if notes:
        notes()
    bar = _progress(total=total, desc="runs", unit="run", smoothing=0.1)
    try:
        outcome = run_study(
            study, out, executor, resume=args.resume, max_runs=args.max_runs,
            on_progress=lambda done, _: bar.update(done - bar.n),
            allow_code_change=args.allow_code_change,
        )  # fmt: skip
    except KeyboardInterrupt:
        executor.close()
        bar.close()
        print(
            f"interrupted: {bar.n} of {total} runs are written in {out}; run the same "
            f"command with --out {out} --resume to finish",
            file=sys.stderr,
        )
        return None
    finally:
        bar.close()
        executor.close()
    errors = f"; {outcome.errors} raised (see the error column)" if outcome.errors else ""
    skipped = f" ({outcome.skipped} already written)" if outcome.skipped else ""
    print(f"{outcome.ran} runs in {outcome.elapsed_s:.1f} s{skipped}{errors}. Results: {out}\n")
    return outcome


def _study_folder(kind: str) -> Path:
    """A new folder ``results/<kind>-<UTC timestamp>`` for a study run without --out."""
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / f"{kind}-{stamp}"


def analyze_explain(directory: Path, kpis: list[str] | None, charts: bool, fmt: str) -> int:
    """Print an explain study's tables (per KPI: both splits, their checks, the
    interactions) and write contributions.csv, replicates.csv, interactions.csv and
    the waterfall charts into ``directory``."""
    import numpy as np
    import pandas as pd

    from simulation.analysis.explain import explain, point_count
    from simulation.analysis.sweep_stats import kpi_matrix
    from simulation.presentation.explain_report import explain_charts, report

    study = _finished_study(directory)
    spec, results = study.spec, study.results
    chosen = kpis or spec["kpis"]
    unknown = [k for k in chosen if k not in results.columns]
    if unknown:
        raise ScenarioError("--kpi", f"{quote(unknown[0])} is not a KPI of this study")
    replicates = study.replicates
    points = point_count(spec)
    matrices = {k: kpi_matrix(results, k, points, replicates) for k in chosen}
    splits = explain(spec, matrices)
    levels = {k: (float(np.nanmean(m[0])), float(np.nanmean(m[1]))) for k, m in matrices.items()}
    left_out = _left_out(spec)
    print(report(splits, levels, spec["a"], spec["b"], left_out))
    pd.concat([s.table() for pair in splits for s in pair]).to_csv(
        directory / "contributions.csv", index=False
    )
    pd.concat([s.replicate_frame() for pair in splits for s in pair]).to_csv(
        directory / "replicates.csv", index=False
    )
    interactions = [f.interactions for f, _ in splits if f.interactions is not None]
    if interactions:
        pd.concat(interactions).to_csv(directory / "interactions.csv", index=False)
    written = ["contributions.csv", "replicates.csv"] + (
        ["interactions.csv"] if interactions else []
    )
    print(f"\nWrote {', '.join(written)} to {directory}")
    if charts:
        names = (spec["a"], spec["b"])
        files = write_charts(explain_charts(splits, levels, names), directory / "charts", fmt)
        print(f"Charts: {len(files)} files in {directory / 'charts'}")
    return 0


def _left_out(spec: dict[str, Any]) -> list[str]:
    from simulation.analysis.explain import HELD_ON
    from simulation.catalog.parameters import mechanism_label

    lines = []
    if spec["idle"]:
        names = ", ".join(mechanism_label(m) for m in spec["idle"])
        lines.append(f"Left out, as they cannot act in either design (each would get 0): {names}.")
    for name in spec["held_on"]:
        lines.append(f"Held on in every run: {mechanism_label(name)} ({HELD_ON.get(name, '')}).")
    return lines


def write_charts(charts: dict, folder: Path, fmt: str) -> list[Path]:
    """Each Altair chart as HTML and as a PNG or SVG image (vl-convert, no browser)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, chart in charts.items():
        for suffix in ("html", fmt):
            path = folder / f"{name}.{suffix}"
            chart.save(str(path), **({"scale_factor": 2} if suffix == "png" else {}))
            written.append(path)
    return written


# ------------------------------------------------------------ robustness (issue 13)


def cmd_robustness(args: argparse.Namespace) -> int:
    """Run every design in plausible worlds into ``--out`` (resumable) and print who
    wins where, with what regret, and where the favourite loses (``analyze_robustness``).
    """

    from simulation.analysis.differences import unique_names
    from simulation.analysis.robustness import (
        design_overrides,
        robustness_points,
        robustness_spec,
        sample_worlds,
        uncertain_ranges,
    )
    from simulation.running.studies import Study

    if len(args.scenarios) < 2:
        raise ScenarioError("scenarios", "robustness compares two or more designs; give another")
    scenarios = [load_scenario(p) for p in args.scenarios]
    names = unique_names([s.name for s in scenarios])
    kpis = _study_kpis(args.kpis)
    seed = scenarios[0].seed if args.seed is None else args.seed
    ranges = uncertain_ranges(scenarios, args.parameters or ())
    worlds = sample_worlds(ranges, args.worlds, seed)
    study = Study(
        kind="robustness",
        name=f"Robustness: {', '.join(names)}",
        base=scenarios[0],
        points=robustness_points(worlds, design_overrides(scenarios)),
        replicates=args.replicates,
        seed=seed,
        spec=robustness_spec(names, ranges, args.worlds, args.replicates, kpis),
        days=args.days,
    )
    out = args.out or _study_folder("robustness")
    counts = (
        f"{study.name}, {len(ranges)} parameters: {args.worlds} worlds x {len(names)} "
        f"designs x {args.replicates} replicates"
    )
    if _run_study(args, study, out, counts) is None:
        return 130
    return analyze_robustness(out, kpis, not args.no_charts, args.format)


def analyze_robustness(
    directory: Path, kpis: list[str] | None, charts: bool = True, fmt: str = "png"
) -> int:
    """Print a robustness study's tables and findings; write worlds.csv, summary.csv,
    regions.csv and (with ``charts``) charts/ into ``directory``."""
    from simulation.analysis.robustness import (
        analyse_study,
        format_outcomes,
        region_sentence,
        regions_frame,
        summary_frame,
        worlds_frame,
    )

    study = _finished_study(directory)
    spec, results, manifest = study.spec, study.results, study.manifest
    if kpis:
        _study_kpis(kpis)
    found = analyse_study(results, spec, kpis or spec["kpis"])
    replicates = int(spec["replicates"])
    print(
        f"{manifest['experiment']['name']}: {len(results)} runs "
        f"({int((results['status'] == 'error').sum())} errors), "
        f"{manifest.get('status', 'unknown')}; {spec['worlds']} plausible worlds over "
        f"{len(spec['parameters'])} parameters, {replicates} replicate"
        f"{'s' if replicates != 1 else ''} per world and design (the same seeds for "
        "every design).\n"
        "Won: share of worlds in which the design is best [95% Wilson interval]; "
        "regret: how much worse than the best design of each world (* the favourite).\n"
    )
    for result in found:
        entry = catalog.kpi(result.kpi)
        better = "higher" if entry.higher_is_better else "lower"
        decided = (
            ""
            if result.decided is None
            else f"; in {result.decided} the winner leads by a 95% interval over replicates"
        )
        print(f"{entry.label} ({better} is better): {result.worlds} worlds{decided}")
        header = ["design", "won [95% CI]", "regret median", "p90", "max"]
        print(_grid(format_outcomes(result), header))
        print(region_sentence(result) + "\n")
    worlds_frame(results, spec, found).to_csv(directory / "worlds.csv", index=False)
    summary_frame(found).to_csv(directory / "summary.csv", index=False)
    regions_frame(found).to_csv(directory / "regions.csv", index=False)
    written = []
    if charts:
        from simulation.presentation.robustness_charts import robustness_charts

        written = write_charts(robustness_charts(found), directory / "charts", fmt)
    print(
        "Wrote worlds.csv (per world and design), summary.csv and regions.csv"
        + (f", and {len(written)} chart files in {directory / 'charts'}" if written else "")
        + f" to {directory}"
    )
    return 0


# --------------------------------------------------------------------------- sensitivity

#: Default budgets of ``sensitivity`` (runs and wall times in the README).
SENSITIVITY_TRAJECTORIES = 10
SENSITIVITY_SAMPLES = 64
SCREEN_TOP = 8


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Run a sensitivity study (Morris or Sobol over the catalog's ranges) of a scenario
    or of the gap between two designs, then print and write its tables and charts.
    Bad input (an unknown parameter, method or KPI, a budget too small for the method)
    is one line and exit 2 before anything runs."""

    study, left_out = _sensitivity_study(args)
    out = args.out or _study_folder("sensitivity")
    spec = study.spec
    samples = len(study.points) // (1 if spec["versus"] is None else 2)
    per_sample = "" if spec["versus"] is None else " x 2 designs"
    counts = (
        f"{study.name}: {len(spec['factors'])} parameters, {samples} samples{per_sample} x "
        f"{study.replicates} replicates"
    )

    def notes() -> None:
        _print_left_out(left_out)
        for path, reason in spec["idle"]:
            print(f"Note: {path} cannot act here ({reason}): expect nothing from it",
                  file=sys.stderr)  # fmt: skip

    if _run_study(args, study, out, counts, notes) is None:
        return 130
    return analyze_sensitivity(out, None, not args.no_charts, args.format)


def _sensitivity_study(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The study ``sensitivity``'s arguments ask for, and the catalog parameters it
    leaves out (each with its reason); a ScenarioError for bad input."""
    from simulation.analysis import global_sensitivity as gsa
    from simulation.analysis import sensitivity_study as design
    from simulation.running.studies import Study

    gsa.check_method(args.method)
    first = load_scenario(args.scenario)
    scenarios = [first, load_scenario(args.versus)] if args.versus else [first]
    kpis = _study_kpis(args.kpis)
    versus = design.versus_overrides(*scenarios) if args.versus else None
    names = [s.name for s in scenarios]
    factors, left_out = _sensitivity_factors(args, scenarios, names)
    budget = {"trajectories": args.trajectories, "levels": args.levels, "samples": args.samples}
    gsa.check_budget(args.method, len(factors), **budget)
    x = gsa.design(args.method, factors, seed=args.seed, **budget)
    spec = {
        "method": args.method,
        "factors": design.factors_to_spec(factors),
        **budget,
        "seed": args.seed,
        "designs": names,
        "versus": versus,
        "kpis": kpis,
        "left_out": [[o.path, o.reason] for o in left_out],
        "idle": [list(pair) for pair in design.idle_factors(factors, scenarios)],
        "grid": design.encode_design(args.method, factors, x, args.levels),
    }
    study = Study(
        kind="sensitivity",
        name=f"{args.method} sensitivity of {' vs '.join(names)}",
        base=first,
        points=design.study_points(factors, x, versus),
        replicates=args.replicates or (2 if args.method == "morris" else 1),
        seed=args.seed,
        spec=spec,
        days=args.days,
    )
    return study, left_out


def _sensitivity_factors(
    args: argparse.Namespace, scenarios: list[Any], names: list[str]
) -> tuple[list[Any], list[Any]]:
    """The factors: named (--parameters), screened (--screen) or the catalog's default."""
    from simulation.analysis import sensitivity_study as design

    if args.parameters and args.screen:
        raise ScenarioError("--screen", "choose the parameters with --parameters or --screen")
    if args.parameters:
        return design.chosen_factors(args.parameters, scenarios), []
    if args.screen:
        return _screened(args.screen, args.top, names)
    return design.default_factors(scenarios)


def _screened(directory: Path, top: int, names: list[str]) -> tuple[list[Any], list[Any]]:
    """The ``top`` factors of the Morris study in ``directory``, and what it left out
    (with the screening as the reason for the rest)."""
    from simulation.analysis.sensitivity_study import (
        LeftOut,
        factors_from_spec,
        screened_factors,
        study_tables,
    )
    from simulation.analysis.sweep_stats import kpi_matrix

    if not (directory / "manifest.json").is_file():
        raise ScenarioError("--screen", "holds no study", str(directory))
    study = _read_study(directory)
    spec, results = study.spec, study.results
    if spec.get("kind") != "sensitivity" or spec.get("method") != "morris":
        raise ScenarioError("--screen", "is not a Morris sensitivity study", str(directory))
    if spec.get("designs") != names:
        raise ScenarioError(
            "--screen", f"screened {' vs '.join(spec.get('designs') or [])}, not "
            f"{' vs '.join(names)}", str(directory)
        )  # fmt: skip
    matrices = {
        k: kpi_matrix(results, k, study.points, study.replicates) for k in spec.get("kpis") or []
    }
    table, _, _ = study_tables(spec, matrices)
    if table.empty:
        raise ScenarioError("--screen", "has no finished Morris indices", str(directory))
    factors = factors_from_spec(spec)
    kept = screened_factors(table, factors, top)
    screened = [
        LeftOut(f.path, f"not in the top {top} of the Morris screening in {directory}")
        for f in factors
        if f not in kept
    ]
    left = [LeftOut(path, reason) for path, reason in spec.get("left_out") or []]
    return kept, [*screened, *left]


def _print_left_out(left_out: list[Any]) -> None:
    by_reason: dict[str, list[str]] = {}
    first: dict[str, str] = {}  # list items' reasons differ only in their example
    for item in left_out:
        path, reason = (item.path, item.reason) if hasattr(item, "path") else item
        reason = first.setdefault(reason.split(":")[0], reason)
        by_reason.setdefault(reason, []).append(path)
    if by_reason:
        print("Left out (they cannot act here, or are not unknowns; --parameters names "
              "any of them):", file=sys.stderr)  # fmt: skip
    for reason, paths in by_reason.items():
        print(f"  {reason}: {', '.join(paths)}", file=sys.stderr)


def analyze_sensitivity(
    directory: Path, kpis: list[str] | None, charts: bool = True, fmt: str = "png"
) -> int:
    """Print a sensitivity study's tables (each KPI's most influential parameters with
    95% intervals) and write sensitivity.csv, sensitivity_summary.csv and charts/."""
    from simulation.analysis.sensitivity_study import study_tables
    from simulation.analysis.sweep_stats import kpi_matrix
    from simulation.presentation.sensitivity_charts import (
        TOP,
        constant,
        display_table,
        effect_unit,
        output_title,
        sensitivity_charts,
        summary_line,
    )

    study = _finished_study(directory)
    spec, results = study.spec, study.results
    chosen = kpis or spec.get("kpis") or [k.key for k in catalog.headline_kpis()]
    unknown = [k for k in chosen if k not in results.columns]
    if unknown:
        raise ScenarioError("--kpi", f"unknown KPI {', '.join(unknown)}")
    matrices = {k: kpi_matrix(results, k, study.points, study.replicates) for k in chosen}
    table, summary, notes = study_tables(spec, matrices)
    method = spec["method"]
    what = "Morris mu* (mean |effect| over each parameter's range) and sigma" if method == (
        "morris") else "Sobol first-order (S1) and total (ST) indices"  # fmt: skip
    print(f"{what}, each ± half its 95% bootstrap interval; top {TOP} per KPI.")
    for row in summary.to_dict("records"):
        kpi = row["kpi"]
        unit = f" (effects in {effect_unit(kpi)})" if method == "morris" else ""
        print(f"\n{output_title(kpi, spec)}{unit}\n  {summary_line(row, spec)}")
        if constant(row):
            continue
        shown = display_table(table, kpi, method)
        print(_grid(shown.astype(str).values.tolist(), list(shown.columns)))
    for note in notes:
        print(f"\nNot analysed: {note}")
    if not table.empty:
        table.to_csv(directory / "sensitivity.csv", index=False)
        summary.to_csv(directory / "sensitivity_summary.csv", index=False)
        print(f"\nTables: {directory / 'sensitivity.csv'}, {directory / 'sensitivity_summary.csv'}")
    if charts and not table.empty:
        written = write_charts(sensitivity_charts(table, spec), directory / "charts", fmt)
        print(f"Charts: {len(written)} files in {directory / 'charts'}")
    return 0


def _fmt_param(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _grid(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [
        "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- output


def write_run(result, out: Path, fmt: str = "csv") -> None:
    """Write one run's kpis.json and its tables (daily, items, units, events; changes,
    phases and decisions when the run has them) into ``out`` as CSV or Parquet.
    """
    from simulation.analysis.metrics import phase_table, unit_table

    out.mkdir(parents=True, exist_ok=True)
    records = result.records
    (out / "kpis.json").write_text(json.dumps(_jsonable(result.kpis), indent=2))
    tables = {
        "daily": records.daily,
        "items": records.items,
        "units": unit_table(records),
        "events": records.events,
    }
    if not records.changes.empty:
        tables["changes"] = records.changes
        tables["phases"] = phase_table(records)
    if not records.decisions.empty:
        tables["decisions"] = records.decisions
    for name, frame in tables.items():
        if fmt == "parquet":
            frame.to_parquet(out / f"{name}.parquet", index=False)
        else:
            frame.to_csv(out / f"{name}.csv", index=False)


def kpi_table(runs: list[dict[str, Any]], names: list[str]) -> str:
    """The KPIs of one run per name, by the catalog's sections (the transition ones only
    where a run changes over time)."""
    rows = []
    for section, keys in _sections([runs]).items():
        rows.append([section])
        for key in keys:
            entry = catalog.kpi(key)
            rows.append([f"  {entry.label}", entry.unit, *(_fmt(key, r.get(key)) for r in runs)])
    return _layout(rows, ["KPI", "unit", *names])


def kpi_table_replicates(runs: list[list[dict[str, Any]]], names: list[str]) -> str:
    """Mean [95% CI] per scenario; after each scenario but the first, its change against
    the first (percent, or a plain difference for KPIs that are shares or scores)."""
    from simulation.analysis.metrics import summarise

    summaries = [summarise(rs) for rs in runs]
    header = ["KPI", "unit", names[0]]
    for name in names[1:]:
        header += [name, "change"]
    rows = []
    for section, keys in _sections(runs).items():
        rows.append([section])
        for key in keys:
            entry = catalog.kpi(key)
            cells = [f"  {entry.label}", entry.unit]
            means = []
            for i, summary in enumerate(summaries):
                stats = summary.loc[key] if key in summary.index else None
                mean = stats["mean"] if stats is not None else math.nan
                means.append(mean)
                cells.append(_with_interval(key, stats))
                if i > 0:
                    cells.append(_change(key, means[0], mean))
            rows.append(cells)
    return _layout(rows, header)


def _sections(runs: list[list[dict[str, Any]]]) -> dict[str, list[str]]:
    """The catalog's sections of the tables; the transition section only where a run
    has scheduled changes or PDCA trials."""
    sections = catalog.sections()
    changing = any(
        "transition_cost" in r and ("changes" in r or "pdca_trials" in r) for rs in runs for r in rs
    )
    if not changing:
        sections.pop(catalog.TRANSITION, None)
    return sections


def _with_interval(key: str, stats: Any) -> str:
    if stats is None or math.isnan(stats["mean"]):
        return "n/a"
    low, high = stats["ci_low"], stats["ci_high"]
    if math.isnan(low) or _fmt(key, low) == _fmt(key, high):
        return _fmt(key, stats["mean"])
    return f"{_fmt(key, stats['mean'])} [{_fmt(key, low)}, {_fmt(key, high)}]"


def _fmt(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if key in catalog.percent_kpis():
        return f"{100 * value:.1f}"
    if key in catalog.money_kpis():
        return f"{value / 1000:,.0f}"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if size >= 10 else f"{value:.2f}"


def _percent(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f}%"


def _change(key: str, base: float, value: float) -> str:
    if any(math.isnan(v) for v in (base, value)):
        return "n/a"
    if key in catalog.percent_kpis():
        return f"{100 * (value - base):+.1f} pts"
    if key in catalog.difference_kpis():
        return f"{value - base:+.2f}" if abs(value - base) < 10 else f"{value - base:+.1f}"
    if base == 0:
        return "n/a"
    return f"{100 * (value - base) / abs(base):+.0f}%"


def _layout(rows: list[list[str]], header: list[str]) -> str:
    widths = [len(h) for h in header]
    for row in rows:
        if len(row) > 1:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], len(cell))
    lines = [
        "  ".join(
            h.ljust(w) if i < 2 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        if len(row) == 1:
            lines.append(row[0])
            continue
        lines.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
