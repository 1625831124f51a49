"""The management API end to end over loopback HTTP, through the SDK."""

from __future__ import annotations

import pytest

from unpod import AsyncClient, ConflictError, NotFoundError, UnprocessableError


@pytest.fixture
async def client(stack):
    async with AsyncClient(api_key=stack.api_key, base_url=stack.url) as c:
        yield c


async def test_voice_profile_catalog(client):
    profiles = await client.voice_profiles.list()
    ids = {p.profile_id for p in profiles}
    assert {"vp_en_male_std", "vp_local_en"} <= ids
    std = await client.voice_profiles.get("vp_en_male_std")
    assert std.stt_provider == "deepgram" and std.tts_provider == "cartesia"
    assert std.failover_order.tts[-1] in ("piper", "espeak-ng")  # every chain ends offline
    local = await client.voice_profiles.get("vp_local_en")
    assert local.stt_provider == "pocketsphinx" and local.estimated_cost_per_min_usd == 0
    assert all(p.language == "en-US" for p in await client.voice_profiles.list(language="en-us"))
    assert await client.voice_profiles.list(language="xx-XX") == []
    with pytest.raises(NotFoundError, match="vp_nope"):
        await client.voice_profiles.get("vp_nope")


async def test_pipe_crud_is_read_your_writes(client):
    created = await client.pipes.create(name="Support", voice_profile="vp_en_male_std", agent_id="support-bot")
    assert created.pipe_id.startswith("pipe_")
    assert created.voice_profile_id == "vp_en_male_std" and created.agent_id == "support-bot"
    assert created.first_speaker == "agent" and created.max_call_duration_s == 3600
    assert [p.pipe_id for p in await client.pipes.list()] == [created.pipe_id]

    updated = await client.pipes.update(created.pipe_id, recording=True, max_call_duration_s=600)
    assert updated.recording and updated.max_call_duration_s == 600 and updated.name == "Support"
    assert created.barge_in_min_speech_s == 0.6
    updated = await client.pipes.update(created.pipe_id, barge_in_min_speech_s=1.2)
    assert updated.barge_in_min_speech_s == 1.2 and updated.recording
    assert (await client.pipes.get(created.pipe_id)).recording

    switched = await client.pipes.update(created.pipe_id, agent_id=None, agent_endpoint="https://bot.example/turn")
    assert switched.agent_id is None and switched.agent_endpoint == "https://bot.example/turn"

    await client.pipes.delete(created.pipe_id)
    with pytest.raises(NotFoundError):
        await client.pipes.get(created.pipe_id)
    assert await client.pipes.list() == []


async def test_pipe_rules(client):
    with pytest.raises(UnprocessableError, match="exactly one"):
        await client.pipes.create(name="x", agent_id="a", agent_endpoint="https://a.example/t")
    with pytest.raises(UnprocessableError, match="exactly one"):
        await client.pipes.create(name="x")
    with pytest.raises(UnprocessableError, match="vp_missing"):
        await client.pipes.create(name="x", agent_id="a", voice_profile="vp_missing")
    p = await client.pipes.create(name="x", agent_id="a")
    with pytest.raises(UnprocessableError, match="exactly one"):
        await client.pipes.update(p.pipe_id, agent_id=None)


async def test_number_lifecycle_and_pipe_delete_guard(client):
    pipe = await client.pipes.create(name="Sales", agent_id="sales-bot")
    other = await client.pipes.create(name="Other", agent_id="other-bot")
    n = await client.numbers.add("+14155550100", country="US")
    assert (n.id, n.status, n.pipe_id, n.source) == ("num_14155550100", "available", None, "byon")

    attached = await client.numbers.attach(n.id, pipe.pipe_id)
    assert attached.status == "assigned" and attached.pipe_id == pipe.pipe_id
    assert (await client.pipes.get(pipe.pipe_id)).numbers == [n.id]
    assert [x.id for x in await client.numbers.list(status="assigned")] == [n.id]
    assert [x.id for x in await client.numbers.list(pipe_id=pipe.pipe_id)] == [n.id]
    assert await client.numbers.list(status="available") == []

    with pytest.raises(ConflictError, match=pipe.pipe_id):
        await client.numbers.attach(n.id, other.pipe_id)  # taken
    with pytest.raises(ConflictError, match=n.id):
        await client.pipes.delete(pipe.pipe_id)  # says which number to detach
    with pytest.raises(ConflictError, match="detach"):
        await client.numbers.release(n.id)
    with pytest.raises(UnprocessableError, match="pipe pipe_doesnotexist not found"):
        await client.numbers.attach(n.id, "pipe_doesnotexist")
    with pytest.raises(NotFoundError, match="number not found"):
        await client.numbers.attach("num_19999999999", pipe.pipe_id)

    detached = await client.numbers.detach(n.id)
    assert detached.status == "available" and detached.pipe_id is None
    assert (await client.pipes.get(pipe.pipe_id)).numbers == []
    await client.pipes.delete(pipe.pipe_id)
    await client.numbers.release(n.id)
    assert await client.numbers.list() == []
    with pytest.raises(NotFoundError):
        await client.numbers.get(n.id)


async def test_number_already_registered(client):
    await client.numbers.add("+14155550100")
    again = await client.numbers.add("+14155550100")  # same request again: idempotent
    assert again.id == "num_14155550100"
    tr = await client.trunks.create(name="t", type="sip", sip={"address": "sip.example.net"})
    with pytest.raises(ConflictError, match="already registered"):
        await client.numbers.add("+14155550100", trunk_id=tr.trunk_id)


async def test_trunk_register_sync_and_delete(client):
    trunk = await client.trunks.create(
        name="Carrier A",
        type="sip",
        sip={"address": "sip.carrier.example", "transport": "tls", "auth_username": "acme", "auth_password": "s3cret!"},
        numbers=["+14155550100", "+14155550101"],
    )
    assert trunk.sip.has_auth_password and trunk.sip.transport == "tls"
    assert "s3cret" not in str(trunk)  # the password is never returned
    assert (await client.trunks.get(trunk.trunk_id)).numbers == ["+14155550100", "+14155550101"]

    first = await client.trunks.sync(trunk.trunk_id)
    assert (first.synced, first.new) == (2, 2)
    again = await client.trunks.sync(trunk.trunk_id)
    assert (again.synced, again.new) == (2, 0)
    numbers = await client.numbers.list(trunk_id=trunk.trunk_id)
    assert [(x.number, x.source) for x in numbers] == [("+14155550100", "trunk"), ("+14155550101", "trunk")]

    pipe = await client.pipes.create(name="p", agent_id="bot")
    await client.numbers.attach("num_14155550100", pipe.pipe_id)
    with pytest.raises(ConflictError, match=r"\+14155550100"):
        await client.trunks.delete(trunk.trunk_id)
    await client.numbers.detach("num_14155550100")
    await client.trunks.delete(trunk.trunk_id)
    assert await client.trunks.list() == []
    assert await client.numbers.list() == []  # the trunk's numbers were released


async def test_provider_trunk(client):
    t = await client.trunks.create(
        name="Twilio", type="provider", provider={"provider": "twilio", "account_id": "AC1", "api_token": "tok"}
    )
    assert t.provider.provider == "twilio" and t.provider.has_api_token and t.sip is None


async def test_api_keys(client, stack):
    created = await client.api_keys.create("ci")
    assert created.key.startswith("sk-") and created.prefix == created.key[:11]
    listed = {k.key_id: k for k in await client.api_keys.list()}
    assert created.key_id in listed and not listed[created.key_id].revoked
    assert all(not hasattr(k, "key") for k in listed.values())
    async with AsyncClient(api_key=created.key, base_url=stack.url) as second:
        assert await second.pipes.list() == []
        await client.api_keys.revoke(created.key_id)
        from unpod import AuthenticationError

        with pytest.raises(AuthenticationError, match="revoked"):
            await second.pipes.list()


async def test_openapi_is_served_and_complete(stack):
    async with stack.http(api_key="") as http:
        spec = (await http.get("/schema/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/v1/pipes",
        "/v1/pipes/{pipe_id}",
        "/v1/numbers",
        "/v1/numbers/{number_id}/attach",
        "/v1/numbers/{number_id}/detach",
        "/v1/trunks/{trunk_id}/sync",
        "/v1/voice-profiles/{profile_id}",
        "/v1/api-keys",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    assert spec["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    create = paths["/v1/pipes"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    props = spec["components"]["schemas"][schema_ref]["properties"]
    assert {"name", "voice_profile", "agent_id", "agent_endpoint", "recording", "max_call_duration_s"} <= set(props)


async def test_health_and_readiness(stack):
    async with stack.http(api_key="") as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = (await http.get("/readyz")).json()
    assert ready["ready"] and ready["nats_connected"]
    assert ready["projection_position"] == ready["stream_last_seq"]
