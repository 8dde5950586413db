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
from pathlib import Path
from typing import Any

from simulation.catalog import kpis as catalog
from simulation.errors import ScenarioError, quote
from simulation.inputs.scenario import json_schema, load_scenario
from simulation.limits import MAX_HORIZON_DAYS, MAX_REPLICATES, MAX_RUNS, MAX_SEED

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
PROG = "python -m simulation"

#: Adds subcommands to the parser's subparsers (the ``converge`` command adds ``app``).
AddCommands = Callable[[Any], None]


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
    return parser


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
        metavar="none|local|ADDRESS",
        help="'none': local processes without Dask; 'local': a Dask LocalCluster; "
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
    from simulation.analysis.comparison import unique_names
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
    from simulation.running.batch import load_results, read_manifest

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
