# Sourced by deploy/up.sh and deploy/test.sh: make .venv (Python >= 3.11, 3.12 when the
# machine has it) and install the project with the given extras; reinstall only when
# pyproject.toml, the extras or the interpreter change.
set -euo pipefail

# Python 3.12 first: its asyncio waits with a timeout without a task of their own (Pipecat
# puts wait_for2 in for 3.11, a task a call), and the bot's audio goes out two such waits
# a chunk. Measured with bench/audio.py, same machine, back to back: at 50 sessions on a
# core, 0 late bot frames of 9995 on 3.12 against 1715 of 9449 on 3.11.
find_python() {
    local pyenv_root candidate
    pyenv_root="$(pyenv root 2>/dev/null || true)"
    for candidate in "${PYTHON:-}" python3.12 "$pyenv_root"/versions/3.12*/bin/python3.12 python3 python3.11 python3.13; do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "Python >= 3.11 is required (set PYTHON=/path/to/python3.12)" >&2
    return 1
}

minor_version() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

ensure_venv() {
    local extras="$1"
    local python
    python="$(find_python)"
    if [ -x .venv/bin/python ] && [ "$(minor_version .venv/bin/python)" != "$(minor_version "$python")" ]; then
        echo "rebuilding .venv with Python $(minor_version "$python")" >&2
        rm -rf .venv
    fi
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

# The published `unpod` SDK (0.5.x, Python >= 3.12) in its own venv: tests run its
# AgentRunner against our server unchanged. Skipped (and said so) without a 3.12.
ensure_published_sdk_venv() {
    local py="" candidate
    local pyenv_root
    pyenv_root="$(pyenv root 2>/dev/null || true)"
    for candidate in python3.12 "$pyenv_root"/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' >/dev/null 2>&1; then
            py="$candidate"
            break
        fi
    done
    if [ -z "$py" ]; then
        echo "note: no Python 3.12 found; the published-SDK compatibility tests will be skipped" >&2
        return 0
    fi
    local stamp=".venv-published/.installed-unpod-0.5"
    if [ ! -f "$stamp" ]; then
        "$py" -m venv .venv-published
        # websockets 13 breaks that SDK's connect despite its ">=13" requirement.
        .venv-published/bin/python -m pip install --quiet "unpod==0.5.0" "websockets>=14"
        touch "$stamp"
    fi
}

# Debian packages the tests need: Chromium for the browser tests, espeak-ng for the
# last-resort TTS. Installed with apt-get when missing (as root, or through sudo).
ensure_debian_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            as_root=(sudo)
        else
            echo "missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
            return 1
        fi
    fi
    echo "installing Debian packages: ${missing[*]}" >&2
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
