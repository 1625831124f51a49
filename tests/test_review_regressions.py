"""Regressions for defects found in review: each failed before its fix."""

from __future__ import annotations

import threading

import pytest

from actors.deciders import number
from actors.errors import NotFound
from bus_contracts import commands as c
from bus_contracts import events as e
from tests.given import given
from tests.processes import UpProcess
from unpod import AsyncClient, Client, ConfigurationError, NotFoundError


async def _pipe_and_number(stack):
    m = stack.node.management
    pipe = await m.create_pipe(stack.project_id, _config("p"))
    n = await m.add_number(stack.project_id, "+14155550100")
    return m, pipe.id, n.id


def _config(name):
    from bus_contracts.events import PipeConfig

    return PipeConfig(name=name, agent_id="bot")


async def test_pipe_delete_repairs_a_stale_link(stack):
    """A detach that raced an attach left the pipe listing a number that is not attached to it."""
    m, pipe_id, number_id = await _pipe_and_number(stack)
    await m.attach_number(stack.project_id, number_id, pipe_id)
    await m.numbers.execute(number_id, c.DetachNumber(project_id=stack.project_id))  # the unlink step never ran
    assert number_id in (await m.pipes.read(pipe_id)).state.numbers
    async with stack.http() as http:
        assert (await http.delete(f"/v1/pipes/{pipe_id}")).status_code == 204


async def test_pipe_delete_sees_a_number_whose_link_step_never_ran(stack):
    """An attach whose second step failed left the number routed to a pipe that does not know it."""
    m, pipe_id, number_id = await _pipe_and_number(stack)
    written = await m.numbers.execute(number_id, c.AttachNumber(project_id=stack.project_id, pipe_id=pipe_id))
    await stack.node.projector.wait_for(written.version)
    async with stack.http() as http:
        r = await http.delete(f"/v1/pipes/{pipe_id}")
        assert r.status_code == 409 and number_id in r.json()["message"]
        assert (await http.get(f"/v1/pipes/{pipe_id}")).json()["numbers"] == [number_id]


async def test_newer_pipe_update_with_only_unknown_fields_does_not_stop_the_projector(stack, nc):
    m, pipe_id, _ = await _pipe_and_number(stack)
    await nc.jetstream().publish(
        f"ev.pipe.{pipe_id}",
        b'{"event_id":"newer1","aggregate":"pipe","aggregate_id":"' + pipe_id.encode() + b'","type":"pipe.updated",'
        b'"schema_version":2,"occurred_at":"2030-01-01T00:00:00Z","project_id":"x","data":{"colour":"blue"}}',
    )
    await nc.jetstream().publish("ev.pipe.garbage", b"\x00 not an envelope")
    async with stack.http() as http:
        r = await http.post("/v1/pipes", json={"name": "after", "agent_id": "bot"})
        assert r.status_code == 201, r.text  # read-your-writes still answers: the projector moved past both
    assert stack.node.projector.errors == 0


@pytest.mark.parametrize("url", ["http://[::1", "https://a.example:99999999/x", "http://ex\u2100ample.com/"])
async def test_malformed_endpoint_urls_are_a_422(stack, url):
    async with stack.http() as http:
        r = await http.post("/v1/pipes", json={"name": "x", "agent_endpoint": url})
    assert r.status_code == 422, r.text
    assert "agent_endpoint" in r.json()["message"]


def test_released_number_does_not_tell_another_project_it_existed():
    history = (e.NumberAdded(project_id="prj_a", number="+14155550100", source="byon"), e.NumberReleased())
    given(number.DECIDER, *history).when(c.ReleaseNumber(project_id="prj_b")).then_refused(NotFound)
    given(number.DECIDER, *history).when(c.ReleaseNumber(project_id="prj_a")).then_nothing()


async def test_sdk_ids_cannot_reach_another_route(stack):
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as client:
        pipe = await client.pipes.create(name="victim", agent_id="bot")
        with pytest.raises(NotFoundError):
            await client.numbers.release(f"num_1/../../pipes/{pipe.pipe_id}")
        assert (await client.pipes.get(pipe.pipe_id)).name == "victim"


def test_failed_client_construction_leaves_no_thread(monkeypatch):
    monkeypatch.delenv("UNPOD_API_KEY", raising=False)
    before = threading.active_count()
    for _ in range(3):
        with pytest.raises(ConfigurationError):
            Client()
    assert threading.active_count() == before


async def test_unpod_up_keeps_its_key_when_the_read_model_is_rebuilt(tmp_path):
    data = tmp_path / "data"
    first = UpProcess(data)
    await first.start()
    creds = (data / "credentials.json").read_text()
    assert await first.stop() == 0
    (data / "read_model.sqlite3").unlink()
    second = UpProcess(data)
    await second.start()
    try:
        assert (data / "credentials.json").read_text() == creds  # same project, same key
        assert "export UNPOD_API_KEY" not in second.text
    finally:
        assert await second.stop() == 0
