"""The node's warm-up leaves nothing for the first calls to load: a module imported
while calls run holds the event loop, and every call's audio on the node, for as long
as the import takes (0.2-0.4 s for the Deepgram SDK's live client, on the first call)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("first_call_imports.py")


def test_after_the_warm_up_a_calls_cloud_providers_import_nothing():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
