"""The OpenAPI document is the contract: schemathesis generates requests from it
(valid and invalid, single calls and stateful sequences) against a real
`unpod up` and checks every answer against the document: no 5xx, documented
status codes, response bodies matching their schemas, auth enforced, Allow
headers right, created resources readable.

Excluded check: ``positive_data_acceptance`` — some rules are not expressible in
the schema (a known voice profile, exactly one of agent_id/agent_endpoint) and
answer a documented 422.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.processes import UpProcess

pytest.importorskip("schemathesis")


async def test_api_conforms_to_its_openapi_document(tmp_path):
    up = UpProcess(tmp_path / "data")
    await up.start()
    try:
        key = json.loads((tmp_path / "data" / "credentials.json").read_text())["api_key"]
        st = Path(sys.executable).parent / "st"
        examples = os.environ.get("UNPOD_SCHEMATHESIS_EXAMPLES", "25")
        proc = await asyncio.create_subprocess_exec(
            str(st), "run", f"{up.url}/schema/openapi.json",
            "-H", f"Authorization: Bearer {key}",
            "--checks", "all",
            "--exclude-checks", "positive_data_acceptance",
            "--max-examples", examples,
            "--seed", "20261121",
            "--workers", "1",
            "--no-color",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 600)
    finally:
        assert await up.stop() == 0, up.text
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-6000:]
    assert "Internal" not in up.text  # no unhandled errors logged by the server
