#!/usr/bin/env bash
# Install (first run only) and start the whole stack on this machine:
# embedded NATS JetStream, event projector, REST API. Extra arguments go to `unpod up`.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/_venv.sh
ensure_venv server
exec .venv/bin/unpod up "$@"
