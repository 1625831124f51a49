"""Every management endpoint needs a key; a key never sees another project's resources."""

from __future__ import annotations

import pytest

from api.bootstrap import create_project_with_key

ENDPOINTS = [
    ("GET", "/v1/voice-profiles"),
    ("GET", "/v1/voice-profiles/vp_local_en"),
    ("GET", "/v1/pipes"),
    ("POST", "/v1/pipes"),
    ("GET", "/v1/pipes/pipe_x"),
    ("PATCH", "/v1/pipes/pipe_x"),
    ("DELETE", "/v1/pipes/pipe_x"),
    ("GET", "/v1/numbers"),
    ("POST", "/v1/numbers"),
    ("GET", "/v1/numbers/num_1"),
    ("POST", "/v1/numbers/num_1/attach"),
    ("POST", "/v1/numbers/num_1/detach"),
    ("DELETE", "/v1/numbers/num_1"),
    ("GET", "/v1/trunks"),
    ("POST", "/v1/trunks"),
    ("GET", "/v1/trunks/trk_1"),
    ("POST", "/v1/trunks/trk_1/sync"),
    ("DELETE", "/v1/trunks/trk_1"),
    ("GET", "/v1/api-keys"),
    ("POST", "/v1/api-keys"),
    ("DELETE", "/v1/api-keys/key_1"),
]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer sk-nope", "Bearer sk-" + "0" * 16 + "x" * 43],
)
async def test_every_endpoint_refuses_without_a_valid_key(stack, authorization):
    async with stack.http(api_key="") as http:
        for method, path in ENDPOINTS:
            headers = {"Authorization": authorization} if authorization is not None else {}
            r = await http.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            body = r.json()
            assert body["code"] == "unauthorized" and "API key" in body["message"]


async def test_a_tampered_key_is_refused(stack):
    tampered = stack.api_key[:-1] + ("A" if stack.api_key[-1] != "A" else "B")
    async with stack.http(api_key=tampered) as http:
        assert (await http.get("/v1/pipes")).status_code == 401


async def test_health_and_schema_need_no_key(stack):
    async with stack.http(api_key="") as http:
        for path in ("/healthz", "/readyz", "/schema/openapi.json"):
            assert (await http.get(path)).status_code == 200, path


async def test_projects_are_isolated(stack):
    other = await create_project_with_key(stack.node, "other")
    async with stack.http() as a, stack.http(api_key=other.api_key) as b:
        pipe = (await a.post("/v1/pipes", json={"name": "A's pipe", "agent_id": "bot"})).json()
        number = (await a.post("/v1/numbers", json={"number": "+14155550100"})).json()
        trunk = (await a.post("/v1/trunks", json={"name": "t", "type": "sip", "sip": {"address": "x.example"}})).json()
        key = (await a.post("/v1/api-keys", json={"name": "k"})).json()
        b_pipe = (await b.post("/v1/pipes", json={"name": "B's pipe", "agent_id": "bot"})).json()
        b_number = (await b.post("/v1/numbers", json={"number": "+14155550199"})).json()

        # B lists none of A's resources.
        assert [p["pipe_id"] for p in (await b.get("/v1/pipes")).json()["data"]] == [b_pipe["pipe_id"]]
        assert [n["id"] for n in (await b.get("/v1/numbers")).json()["data"]] == [b_number["id"]]
        assert (await b.get("/v1/trunks")).json()["data"] == []
        assert key["key_id"] not in {k["key_id"] for k in (await b.get("/v1/api-keys")).json()["data"]}

        # Every direct access to A's ids answers 404 (not 403: ids do not leak).
        pid, nid, tid = pipe["pipe_id"], number["id"], trunk["trunk_id"]
        attempts = [
            ("GET", f"/v1/pipes/{pid}", None),
            ("PATCH", f"/v1/pipes/{pid}", {"name": "hijack"}),
            ("DELETE", f"/v1/pipes/{pid}", None),
            ("GET", f"/v1/numbers/{nid}", None),
            ("POST", f"/v1/numbers/{nid}/attach", {"pipe_id": b_pipe["pipe_id"]}),
            ("POST", f"/v1/numbers/{nid}/detach", None),
            ("DELETE", f"/v1/numbers/{nid}", None),
            ("GET", f"/v1/trunks/{tid}", None),
            ("POST", f"/v1/trunks/{tid}/sync", None),
            ("DELETE", f"/v1/trunks/{tid}", None),
            ("DELETE", f"/v1/api-keys/{key['key_id']}", None),
        ]
        for method, path, body in attempts:
            r = await b.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert r.json()["code"] == "not_found"

        # A's ids named inside B's request bodies are unknown to B (the same answer as for ids that never existed).
        for path, body, phrase in (
            (f"/v1/numbers/{b_number['id']}/attach", {"pipe_id": pid}, f"pipe {pid} not found"),
            ("/v1/numbers", {"number": "+14155550198", "trunk_id": tid}, f"trunk {tid} not found"),
        ):
            r = await b.post(path, json=body)
            assert r.status_code == 422 and phrase in r.json()["message"], r.text

        # Nothing of A's changed.
        assert (await a.get(f"/v1/pipes/{pid}")).json()["name"] == "A's pipe"
        assert (await a.get(f"/v1/numbers/{nid}")).json()["status"] == "available"
        assert (await a.get(f"/v1/trunks/{tid}")).status_code == 200
        assert (await b.get(f"/v1/numbers/{b_number['id']}")).json()["pipe_id"] is None
        revoked = {k["key_id"]: k["revoked"] for k in (await a.get("/v1/api-keys")).json()["data"]}
        assert revoked[key["key_id"]] is False
