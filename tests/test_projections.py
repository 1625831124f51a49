"""Projector: read-your-writes, restart from checkpoint, rebuild equals live."""

from __future__ import annotations

import sqlite3

from actors.deciders import call
from actors.event_store import EventStore
from actors.host import ActorHost
from actors.management import Management
from actors.secrets import SecretStore
from bus_contracts import calls as k
from bus_contracts.events import PipeConfig, SipTrunkConfig
from projections.projector import Projector, rebuild
from projections.read_model import ReadModel
from projections.schema import TABLES

P = "prj_a"


def dump(path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


async def populate(mgmt: Management) -> None:
    await mgmt.create_project("default", project_id=P)
    key = await mgmt.issue_api_key(P, "ci")
    await mgmt.revoke_api_key(P, key.id)
    await mgmt.issue_api_key(P, "live")
    pipes = [await mgmt.create_pipe(P, PipeConfig(name=f"pipe {i}", agent_id=f"bot{i}")) for i in range(5)]
    await mgmt.update_pipe(P, pipes[0].id, {"recording": True, "name": "renamed"})
    trunk = await mgmt.register_trunk(
        P,
        name="main",
        type="sip",
        sip=SipTrunkConfig(address="sip.example.net", has_auth_password=True),
        provider=None,
        numbers=("+14155550100", "+14155550101", "+14155550102"),
        sip_password="hunter2",
    )
    await mgmt.sync_trunk(P, trunk.id)
    await mgmt.attach_number(P, "num_14155550100", pipes[1].id)
    await mgmt.attach_number(P, "num_14155550101", pipes[2].id)
    await mgmt.detach_number(P, "num_14155550101")
    await mgmt.release_number(P, "num_14155550102")
    await mgmt.delete_pipe(P, pipes[3].id)
    await mgmt.add_number(P, "+442071838750", country="GB")
    calls = ActorHost(mgmt.store, call.DECIDER)
    request = k.RequestCall(project_id=P, pipe_id=pipes[0].id, session_id="call_1", direction="web",
                            agent_id="bot0", recording=True)  # fmt: skip
    await calls.create("call_1", request)
    await calls.execute("call_1", k.EndCall(project_id=P, reason="hangup"))
    await calls.execute("call_1", k.AttachRecording(project_id=P, recording_id="rec_1", duration_s=9.5,
                        size_bytes=608_044, sample_rate=16000, channels=2, paused_s=2.0,
                        paused_spans=((3.0, 5.0),)))  # fmt: skip
    await calls.stop()


async def test_read_your_writes_and_rebuild_equals_live(store: EventStore, nc, tmp_path):
    secrets = SecretStore(nc.jetstream())
    await secrets.start()
    mgmt = Management(store, secrets)
    live = Projector(store, tmp_path / "live.db")
    await live.start()
    reads = ReadModel(tmp_path / "live.db")
    await reads.start()

    pipe = await mgmt.create_project("default", project_id=P)
    await live.wait_for(pipe.seq)
    created = await mgmt.create_pipe(P, PipeConfig(name="fresh", agent_id="bot"))
    await live.wait_for(created.seq)
    assert (await reads.pipe(P, created.id))["name"] == "fresh"  # readable as soon as wait_for returns

    await populate(mgmt)
    last = await store.last_seq()
    await live.wait_for(last)
    await reads.stop()
    await live.stop()

    position = await rebuild(store, tmp_path / "rebuilt.db")
    assert position == last
    assert dump(tmp_path / "rebuilt.db") == dump(tmp_path / "live.db")
    tables = dump(tmp_path / "live.db")
    assert len(tables["pipes"]) == 5  # 6 created, 1 deleted
    assert {r[2] for r in tables["numbers"]} == {"+14155550100", "+14155550101", "+442071838750"}
    (recording,) = tables["recordings"]
    assert recording[:4] == ("rec_1", "call_1", P, tables["calls"][0][2]) and recording[-2] == "[[3.0,5.0]]"
    await mgmt.stop()


async def test_restart_resumes_from_checkpoint_without_reapplying(store: EventStore, nc, tmp_path):
    secrets = SecretStore(nc.jetstream())
    await secrets.start()
    mgmt = Management(store, secrets)
    db = tmp_path / "rm.db"
    first = Projector(store, db)
    await first.start()
    await mgmt.create_project("default", project_id=P)
    a = await mgmt.create_pipe(P, PipeConfig(name="a", agent_id="bot"))
    await first.wait_for(a.seq)
    await first.stop()

    # While the projector is down, more events arrive.
    b = await mgmt.create_pipe(P, PipeConfig(name="b", agent_id="bot"))
    await mgmt.update_pipe(P, a.id, {"name": "a2"})
    last = await store.last_seq()

    applied: list[int] = []
    second = Projector(store, db, on_applied=lambda recs: applied.extend(r.seq for r in recs))
    await second.start()
    assert second.position == a.seq  # resumed from the stored checkpoint
    await second.wait_for(last)
    assert applied == list(range(a.seq + 1, last + 1))  # nothing applied twice
    reads = ReadModel(db)
    await reads.start()
    assert sorted(p["name"] for p in await reads.pipes(P)) == ["a2", "b"]
    assert b.id in {p["pipe_id"] for p in await reads.pipes(P)}
    await reads.stop()
    await second.stop()
    await mgmt.stop()
