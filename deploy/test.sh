#!/usr/bin/env bash
# Install (first run only) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/_venv.sh
ensure_debian_packages chromium espeak-ng   # the browser tests; the last-resort TTS
ensure_venv server,dev
ensure_published_sdk_venv   # the published unpod SDK (Python 3.12), for compatibility tests
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
