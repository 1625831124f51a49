"""Bad input gets a 4xx with a message that says what is wrong, never a 500,
and leaves nothing behind."""

from __future__ import annotations

import pytest

LONG = "x" * 201

# (method, path, json body, expected status, a phrase the message must contain)
CASES = [
    # pipes
    ("POST", "/v1/pipes", {}, 400, "name"),
    ("POST", "/v1/pipes", {"name": ""}, 400, "name"),
    ("POST", "/v1/pipes", {"name": LONG, "agent_id": "a"}, 400, "name"),
    ("POST", "/v1/pipes", {"name": 5, "agent_id": "a"}, 400, "name"),
    ("POST", "/v1/pipes", {"name": " \t\u000b", "agent_id": "a"}, 400, "name"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "a", "colour": "red"}, 400, "colour"),
    ("POST", "/v1/pipes", {"name": "x"}, 422, "exactly one"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "a", "agent_endpoint": "https://a.example/t"}, 422, "exactly one"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "has space"}, 422, "agent_id"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "a#1"}, 422, "agent_id"),
    ("POST", "/v1/pipes", {"name": "x", "agent_endpoint": "ftp://files.example/x"}, 422, "http"),
    ("POST", "/v1/pipes", {"name": "x", "agent_endpoint": "not a url at all"}, 422, "http"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "a", "voice_profile": "vp_nope"}, 422, "vp_nope"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "a", "max_call_duration_s": 5}, 400, "max_call_duration_s"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "a", "max_call_duration_s": "long"}, 400, "max_call_duration_s"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "a", "barge_in_min_speech_s": 0}, 400, "barge_in_min_speech_s"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "a", "recording": "yes"}, 400, "recording"),
    ("POST", "/v1/pipes", {"name": "x", "agent_id": "a", "first_speaker": "robot"}, 400, "first_speaker"),
    ("POST", "/v1/pipes", [1, 2], 400, "invalid"),
    ("GET", "/v1/pipes/pipe_missing", None, 404, "pipe not found"),
    ("GET", "/v1/pipes/bad.id*", None, 404, "not found"),
    ("PATCH", "/v1/pipes/pipe_missing", {"name": "x"}, 404, "pipe not found"),
    ("PATCH", "/v1/pipes/bad.id", {"name": "x"}, 404, "not found"),
    ("DELETE", "/v1/pipes/pipe_missing", None, 404, "pipe not found"),
    # numbers
    ("POST", "/v1/numbers", {}, 400, "number"),
    ("POST", "/v1/numbers", {"number": "4155550100"}, 400, "number"),
    ("POST", "/v1/numbers", {"number": "+0155550100"}, 400, "number"),
    ("POST", "/v1/numbers", {"number": "+14155550100", "country": "usa"}, 400, "country"),
    ("POST", "/v1/numbers", {"number": "+14155550100", "capabilities": ["fax"]}, 400, "capabilities"),
    ("POST", "/v1/numbers", {"number": "+14155550100", "capabilities": []}, 400, "capabilities"),
    ("POST", "/v1/numbers", {"number": "+14155550100", "trunk_id": "trk_missing"}, 422, "trunk trk_missing not found"),
    ("GET", "/v1/numbers?status=lost", None, 400, "status"),
    ("GET", "/v1/numbers/num_missing", None, 404, "number not found"),
    ("POST", "/v1/numbers/num_missing/attach", {}, 400, "pipe_id"),
    ("POST", "/v1/numbers/num_missing/attach", {"pipe_id": "pipe_missing"}, 404, "number not found"),
    ("POST", "/v1/numbers/num_missing/detach", None, 404, "number not found"),
    ("DELETE", "/v1/numbers/num_missing", None, 404, "number not found"),
    # trunks
    ("POST", "/v1/trunks", {}, 400, "type"),
    ("POST", "/v1/trunks", {"type": "sip", "sip": {"address": "a"}}, 400, "name"),
    ("POST", "/v1/trunks", {"name": "t", "type": "carrier-pigeon"}, 400, "type"),
    ("POST", "/v1/trunks", {"name": "t", "type": "sip"}, 400, "sip"),
    ("POST", "/v1/trunks", {"name": "t", "type": "provider", "sip": {"address": "a"}}, 400, "sip"),
    ("POST", "/v1/trunks", {"name": "t", "sip": {"address": "a"}}, 400, "type"),
    ("POST", "/v1/trunks", {"name": "t", "type": "sip", "sip": {"address": "a", "port": 70000}}, 400, "port"),
    (
        "POST",
        "/v1/trunks",
        {"name": "t", "type": "sip", "sip": {"address": "a", "transport": "sctp"}},
        400,
        "transport",
    ),
    ("POST", "/v1/trunks", {"name": "t", "type": "sip", "sip": {"address": "a"}, "numbers": ["555"]}, 400, "numbers"),
    (
        "POST",
        "/v1/trunks",
        {"name": "t", "type": "sip", "sip": {"address": "a"}, "numbers": ["+14155550100", "+14155550100"]},
        422,
        "repeat",
    ),
    ("GET", "/v1/trunks/trk_missing", None, 404, "trunk not found"),
    ("POST", "/v1/trunks/trk_missing/sync", None, 404, "trunk not found"),
    ("DELETE", "/v1/trunks/trk_missing", None, 404, "trunk not found"),
    # api keys
    ("POST", "/v1/api-keys", {}, 400, "name"),
    ("POST", "/v1/api-keys", {"name": ""}, 400, "name"),
    ("DELETE", "/v1/api-keys/key_missing", None, 404, "api key not found"),
    # voice profiles
    ("GET", "/v1/voice-profiles/vp_missing", None, 404, "vp_missing"),
    # routing
    ("GET", "/v1/nothing-here", None, 404, ""),
    ("PUT", "/v1/pipes", {}, 405, ""),
    ("TRACE", "/healthz", None, 405, ""),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "phrase"), CASES)
async def test_invalid_requests_get_a_clear_4xx(stack, method, path, body, status, phrase):
    async with stack.http() as http:
        r = await http.request(method, path, json=body)
    assert r.status_code == status, r.text
    err = r.json()
    assert err["status_code"] == status and err["message"] and err["code"]
    assert phrase.lower() in err["message"].lower(), err
    if status == 405:
        assert r.headers["allow"], "a 405 names the allowed methods"


async def test_malformed_bodies(stack):
    async with stack.http() as http:
        for raw in (b"{", b"not json", b"\xff\xfe", b'{"name": "x", "agent_id": "a"'):
            r = await http.post("/v1/pipes", content=raw, headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (raw, r.text)
            assert r.json()["message"]
        r = await http.post("/v1/pipes", content=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        # Nothing was created by any of it.
        assert (await http.get("/v1/pipes")).json()["data"] == []


async def test_failed_requests_leave_nothing_behind(stack):
    async with stack.http() as http:
        for method, path, body, *_ in CASES:
            await http.request(method, path, json=body)
        assert (await http.get("/v1/pipes")).json()["data"] == []
        assert (await http.get("/v1/numbers")).json()["data"] == []
        assert (await http.get("/v1/trunks")).json()["data"] == []
