# The two commands of the README, and a few more for developers.
# Each installs what it needs into .venv first (Python 3.12+).

.PHONY: app test lint format bench

# The app listens on 127.0.0.1 only (.streamlit/config.toml). To serve it to others on
# purpose, behind a proxy with authentication and TLS (README, "Serving the app to others"):
#   make app APP_ARGS="--server.address 0.0.0.0 --server.allowedHosts converge.example.org"
app:  ## open the app in a browser
	@scripts/venv.sh requirements.txt
	.venv/bin/streamlit run app.py $(APP_ARGS)

test:  ## run the whole test suite (browser tests skip without Chromium)
	@scripts/venv.sh requirements-dev.txt
	.venv/bin/python -m pytest -n 2 $(PYTEST_ARGS)

lint:
	@scripts/venv.sh requirements-dev.txt
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:
	@scripts/venv.sh requirements-dev.txt
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench:
	@scripts/venv.sh requirements-dev.txt
	.venv/bin/python benchmarks/flow_vs_simpy.py
	.venv/bin/python benchmarks/scenarios.py
	.venv/bin/python benchmarks/scaling.py
	.venv/bin/python benchmarks/batch.py
	.venv/bin/python benchmarks/large_design.py
	.venv/bin/python benchmarks/scheduler.py
