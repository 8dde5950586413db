#!/usr/bin/env bash
# Make .venv with Python 3.12+ and install a requirements file into it, once per change
# of that file. Usage: scripts/venv.sh requirements.txt
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=${1:-requirements.txt}
venv=.venv

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  # pyenv keeps other versions out of PATH: ask it for any 3.12+ it has.
  if command -v pyenv >/dev/null 2>&1; then
    for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])' | sort -V -r); do
      PYENV_VERSION=$version pyenv which python3 2>/dev/null && return 0
    done
  fi
  return 1
}

if [ ! -x "$venv/bin/python" ]; then
  python=$(find_python) || {
    echo "Converge needs Python 3.12 or newer (mesa 3.5 does). Install it, or set PYTHON=/path/to/python3.12." >&2
    exit 1
  }
  echo "Creating $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi

stamp="$venv/.installed-$(basename "$requirements")"
if [ ! -f "$stamp" ] || [ "$requirements" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$requirements"
  touch "$stamp"
fi

# Compile the project's own modules to bytecode now, so that the app's server and its
# worker pool do not compile them at every start (about 0.4 s of CPU for all of them,
# measured with compile() on the shared two-core machine; more where
# PYTHONDONTWRITEBYTECODE keeps Python from caching them itself). Python checks each
# file's time stamp and size before it uses its .pyc: an edited file is compiled again.
"$venv/bin/python" -m compileall -q simulation ui converge_app app.py >/dev/null || true
