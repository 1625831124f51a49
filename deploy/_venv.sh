# Sourced by deploy/up.sh and deploy/test.sh: make .venv (Python >= 3.11) and
# install the project with the given extras; reinstall only when pyproject.toml
# or the extras change.
set -euo pipefail

find_python() {
    for candidate in "${PYTHON:-}" python3 python3.12 python3.11 python3.13; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Python >= 3.11 is required (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {
    local extras="$1"
    local python
    python="$(find_python)"
    if [ ! -x .venv/bin/python ]; then
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed-${extras//,/-}"
    local want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e ".[${extras}]"
        echo "$want" > "$stamp"
    fi
}
