"""What the event log records: trace context of the causing request, and never a secret."""

from __future__ import annotations

import logging

from actors.deciders import pipe as pipe_decider

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_events_carry_the_requests_trace_context(stack):
    async with stack.http() as http:
        r = await http.post(
            "/v1/pipes",
            json={"name": "traced", "agent_id": "bot"},
            headers={"traceparent": TRACEPARENT, "tracestate": "vendor=x"},
        )
    pipe_id = r.json()["pipe_id"]
    records = await stack.node.store.read_subject("pipe", pipe_id)
    assert [rec.envelope.trace for rec in records] == [{"traceparent": TRACEPARENT, "tracestate": "vendor=x"}]
    assert records[0].envelope.project_id == stack.project_id
    assert (await stack.node.store.load(pipe_decider.DECIDER, pipe_id)).state.config.name == "traced"


async def test_trunk_secrets_never_reach_the_log_responses_or_logging(stack, caplog):
    password, token = "pa55-Unique-Secret-7781", "tok-Unique-Secret-9920"
    caplog.set_level(logging.DEBUG)
    async with stack.http() as http:
        sip = await http.post(
            "/v1/trunks",
            json={
                "name": "s",
                "type": "sip",
                "sip": {"address": "sip.example", "auth_username": "u", "auth_password": password},
            },
        )
        prov = await http.post(
            "/v1/trunks", json={"name": "p", "type": "provider", "provider": {"provider": "twilio", "api_token": token}}
        )
        listing = await http.get("/v1/trunks")
    for response in (sip, prov, listing):
        assert password not in response.text and token not in response.text
    assert sip.json()["sip"]["has_auth_password"] and prov.json()["provider"]["has_api_token"]

    # Not in any event ever appended...
    records, _ = await stack.node.store.read_from(1, limit=10_000)
    raw = b"".join(bytes(r.envelope.data) for r in records)
    assert records and password.encode() not in raw and token.encode() not in raw
    # ...kept only in the secrets bucket...
    secrets = stack.node.management.secrets
    assert await secrets.get(f"trunk.{sip.json()['trunk_id']}.sip_password") == password
    # ...and never logged.
    assert password not in caplog.text and token not in caplog.text

    async with stack.http() as http:
        assert (await http.delete(f"/v1/trunks/{sip.json()['trunk_id']}")).status_code == 204
    assert await secrets.get(f"trunk.{sip.json()['trunk_id']}.sip_password") is None  # deleted with the trunk


async def test_api_keys_are_stored_as_hashes_only(stack):
    records, _ = await stack.node.store.read_from(1, limit=10_000)
    raw = b"".join(bytes(r.envelope.data) for r in records)
    assert stack.api_key.encode() not in raw
    secret_part = stack.api_key[len("sk-") + 16 :]
    assert secret_part.encode() not in raw
