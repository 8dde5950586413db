"""Every bound on what a user may ask of Converge, each with its reason.

Scenarios, experiments and command-line options may come from anyone (an upload, a
link, a colleague's script). These upper bounds are far above what a real organisation
or study needs, and keep every run and every sweep finite in time and memory. The
schema (:mod:`simulation.inputs.scenario`), the experiment designs
(:mod:`simulation.inputs.experiment`) and the command line read them from here; the YAML
parsing budget is in :mod:`simulation.inputs.safe_yaml`.
"""

# --------------------------------------------------------------------------- a scenario

#: People in the organisation, at the start and after any change. The largest measured
#: (benchmarks/scaling.py) is 5,000; one business-IT delivery organisation of more than
#: 10,000 people is several organisations.
MAX_STAFF = 10_000
#: BRMs: large enterprises have one per business unit or two, tens in all.
MAX_BRMS = 1_000
#: Working days simulated: long enough for the steady-state checks of queueing theory
#: (tests/test_validity.py runs 8,000 days); the work cap below bounds the cost.
MAX_HORIZON_DAYS = 20_000
#: Items arriving per day of one work type (large_enterprise.yaml: about 25).
MAX_ARRIVAL_RATE = 1_000.0
#: Work items a run may expect to admit (arrival rates x demand scale x horizon): a
#: run's time and memory grow with its items (large_enterprise.yaml over 2,000 days
#: admits 128,000 in 28 s and 0.5 GB on one core). The ready-made scenarios admit
#: under 20,000.
MAX_EXPECTED_ITEMS = 500_000
#: Mean effort of one stage in person-days: from five minutes (shorter is not a
#: stage anyone tracks) to a working year.
MIN_EFFORT_DAYS = 0.01
MAX_EFFORT_DAYS = 250.0
#: Coefficient of variation of an effort: 10 is already a wildly heavy tail.
MAX_EFFORT_CV = 10.0
#: Any delay or duration in days: a working year (a handoff slower than that is not one).
MAX_DELAY_DAYS = 250.0
#: Any cost or value in money: a billion per item, person-day or programme.
MAX_MONEY = 1e9
#: A converged team of more than this many people is not a team.
MAX_TEAM_SIZE = 100
#: Seeds: numpy takes any non-negative integer; 63 bits are plenty.
MAX_SEED = 2**63 - 1
#: Disciplines, work types, stages of a route, teams, scheduled changes.
MAX_DISCIPLINES = 50
MAX_WORK_TYPES = 50
MAX_ROUTE_STAGES = 50
MAX_TEAMS = 1_000
MAX_CHANGES = 200
#: Ties per person: Dunbar's number.
MAX_DEGREE = 150.0


# --------------------------------------------------------------------------- many runs

#: Replicates of one comparison: tens give tight intervals; a thousand, ten times tighter.
MAX_REPLICATES = 1_000
#: Runs (points x replicates) of a sweep unless ``sweep --max-runs`` allows more: at a
#: tenth of a second each, a day on two cores. Every point is resolved into a scenario
#: before the first run, so the design's size also bounds the memory of the plan.
MAX_RUNS = 100_000
