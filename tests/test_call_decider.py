"""Given/when/then: the call lifecycle, dispatch attempts and the conversation."""

from __future__ import annotations

import msgspec

from actors.deciders import call, runner
from actors.errors import Conflict, Invalid, NotFound
from bus_contracts import calls as k
from bus_contracts import runners as r
from tests.given import given

P = "prj_a"
REQ = dict(pipe_id="pipe_1", session_id="sess_1", direction="web", agent_id="bot")
REQUESTED = k.CallRequested(project_id=P, **REQ)
OFFERED = k.RunnerAssigned(worker_id="bot#1", assign_id="as_1", attempt=1, deadline_ms=2000)
ACCEPTED = k.RunnerAccepted(worker_id="bot#1", assign_id="as_1")
CONNECTED = k.BridgeConnected(worker_id="bot#1")
LIVE = (REQUESTED, OFFERED, ACCEPTED, CONNECTED)


def test_request():
    given(call.DECIDER).when(k.RequestCall(project_id=P, **REQ)).then(REQUESTED)
    given(call.DECIDER, REQUESTED).when(k.RequestCall(project_id=P, **REQ)).then_nothing()


def test_a_call_needs_exactly_one_brain():
    given(call.DECIDER).when(k.RequestCall(project_id=P, **{**REQ, "agent_id": None})).then_refused(Invalid)


def test_dispatch_happy_path():
    s = given(call.DECIDER, REQUESTED)
    assert s.state.phase == "waiting"
    s.when(k.AssignRunner(project_id=P, worker_id="bot#1", assign_id="as_1", deadline_ms=2000)).then(OFFERED)
    given(call.DECIDER, REQUESTED, OFFERED).when(
        k.AcceptAssignment(project_id=P, worker_id="bot#1", assign_id="as_1")
    ).then(ACCEPTED)
    given(call.DECIDER, REQUESTED, OFFERED, ACCEPTED).when(k.ConnectBridge(project_id=P, worker_id="bot#1")).then(
        CONNECTED
    )
    assert given(call.DECIDER, *LIVE).state.phase == "connected"


def test_rejection_returns_the_call_to_waiting_and_remembers_who_declined():
    s = given(call.DECIDER, REQUESTED, OFFERED, k.RunnerRejected(worker_id="bot#1", assign_id="as_1", reason="timeout"))
    assert s.state.phase == "waiting" and s.state.declined == ("bot#1",)
    s.when(k.AssignRunner(project_id=P, worker_id="bot#2", assign_id="as_2", deadline_ms=2000)).then(
        k.RunnerAssigned(worker_id="bot#2", assign_id="as_2", attempt=2, deadline_ms=2000)
    )


def test_a_late_ack_for_an_old_offer_is_refused():
    history = (
        REQUESTED,
        OFFERED,
        k.RunnerRejected(worker_id="bot#1", assign_id="as_1", reason="timeout"),
        k.RunnerAssigned(worker_id="bot#2", assign_id="as_2", attempt=2, deadline_ms=2000),
    )
    given(call.DECIDER, *history).when(
        k.AcceptAssignment(project_id=P, worker_id="bot#1", assign_id="as_1")
    ).then_refused(Conflict, "stale")


def test_only_a_waiting_call_is_offered():
    given(call.DECIDER, *LIVE).when(
        k.AssignRunner(project_id=P, worker_id="bot#2", assign_id="as_2", deadline_ms=2000)
    ).then_refused(Conflict, "connected")


def test_lost_runner_sends_the_call_back_to_waiting_with_its_history():
    history = (*LIVE, k.UserSpoke(turn=1, text="hi"), k.AgentReplied(turn=1, text="hello"))
    s = given(call.DECIDER, *history)
    s.when(k.LoseRunner(project_id=P, worker_id="bot#1", reason="heartbeat")).then(
        k.CallRunnerLost(worker_id="bot#1", reason="heartbeat")
    )
    after = given(call.DECIDER, *history, k.CallRunnerLost(worker_id="bot#1", reason="heartbeat"))
    assert after.state.phase == "waiting" and [line.text for line in after.state.history] == ["hi", "hello"]
    # A loss reported for another runner changes nothing.
    given(call.DECIDER, *LIVE).when(k.LoseRunner(project_id=P, worker_id="bot#9", reason="x")).then_nothing()


def test_the_serving_runner_hands_the_call_to_another_agent():
    hand = k.HandOver(project_id=P, worker_id="bot#1", agent_id="billing", via="transfer", metadata={"ticket": 7})
    handed = k.HandedOver(from_worker_id="bot#1", agent_id="billing", via="transfer", metadata={"ticket": 7})
    s = given(call.DECIDER, *LIVE, k.UserSpoke(turn=1, text="my bill"))
    s.when(hand).then(handed)
    after = given(call.DECIDER, *LIVE, k.UserSpoke(turn=1, text="my bill"), handed)
    assert (after.state.phase, after.state.worker_id, after.state.agent_id) == ("waiting", None, "billing")
    assert after.state.history == s.state.history  # the conversation goes along
    meta = call.runner_metadata(after.state)
    assert meta["agent_id"] == "billing"
    assert meta["data"]["handoff"] == {"ticket": 7, "from_agent_id": "bot", "via": "transfer"}
    after.when(hand).then_nothing()  # a repeated hand-over is recognised
    after.when(k.AssignRunner(project_id=P, worker_id="billing#1", assign_id="as_2", deadline_ms=2000)).then(
        k.RunnerAssigned(worker_id="billing#1", assign_id="as_2", attempt=2, deadline_ms=2000)
    )


def test_only_the_serving_runner_of_a_runner_call_can_hand_it_over():
    hand = k.HandOver(project_id=P, worker_id="bot#9", agent_id="billing", via="dispatch")
    given(call.DECIDER, *LIVE).when(hand).then_refused(Conflict)
    given(call.DECIDER, REQUESTED).when(hand).then_refused(Conflict)  # nobody serves it yet
    by_endpoint = k.CallRequested(project_id=P, **{**REQ, "agent_id": None, "agent_endpoint": "http://x/turn"})
    given(call.DECIDER, by_endpoint).when(hand).then_refused(Invalid)
    empty = k.HandOver(project_id=P, worker_id="bot#1", agent_id="", via="dispatch")
    given(call.DECIDER, *LIVE).when(empty).then_refused(Invalid)


def test_a_reply_cut_off_while_playing_keeps_what_was_heard():
    replied = (*LIVE, k.UserSpoke(turn=1, text="story"), k.AgentReplied(turn=1, text="Okay. Once upon a time."))
    cut = k.RecordInterruption(project_id=P, turn=1, heard_prefix="Okay.")
    given(call.DECIDER, *replied).when(cut).then(k.ReplyInterrupted(turn=1, heard_prefix="Okay."))
    after = given(call.DECIDER, *replied, k.ReplyInterrupted(turn=1, heard_prefix="Okay."))
    assert after.state.history[-1] == call.Line("agent", "Okay.", 1, True)
    after.when(cut).then_nothing()  # already cut
    bad = k.RecordInterruption(project_id=P, turn=1, heard_prefix="Twice upon")
    given(call.DECIDER, *replied).when(bad).then_refused(Invalid)  # not what the reply began with
    early = k.RecordInterruption(project_id=P, turn=2, heard_prefix="")
    given(call.DECIDER, *replied).when(early).then_refused(Invalid)  # no reply to turn 2 yet


def test_unanswered_turns_are_those_after_the_agent_last_spoke_without_a_reply():
    spoke = (*LIVE, k.UserSpoke(turn=1, text="hi"), k.AgentReplied(turn=1, text="hello"))
    assert call.unanswered_turns(given(call.DECIDER, *spoke).state) == []
    waiting = (*spoke, k.UserSpoke(turn=2, text="a"), k.UserSpoke(turn=3, text="b"))
    assert [x.turn for x in call.unanswered_turns(given(call.DECIDER, *waiting).state)] == [2, 3]
    said = (*waiting, k.AgentSaid(text="on it"), k.UserSpoke(turn=4, text="c"))
    assert [x.turn for x in call.unanswered_turns(given(call.DECIDER, *said).state)] == [4]  # say answered 2 and 3


def test_turns_are_numbered_and_retries_recognised():
    s = given(call.DECIDER, *LIVE)
    s.when(k.RecordUserTurn(project_id=P, turn=1, text="hi")).then(k.UserSpoke(turn=1, text="hi"))
    s.when(k.RecordUserTurn(project_id=P, turn=2, text="skip")).then_refused(Invalid, "out of order")
    done = given(call.DECIDER, *LIVE, k.UserSpoke(turn=1, text="hi"))
    done.when(k.RecordUserTurn(project_id=P, turn=1, text="hi")).then_nothing()


def test_one_reply_per_turn_and_never_ahead_of_the_caller():
    s = given(call.DECIDER, *LIVE, k.UserSpoke(turn=1, text="hi"))
    s.when(k.RecordAgentReply(project_id=P, turn=2, text="?")).then_refused(Invalid)
    s.when(k.RecordAgentReply(project_id=P, turn=1, text="hello")).then(k.AgentReplied(turn=1, text="hello"))
    replied = given(call.DECIDER, *LIVE, k.UserSpoke(turn=1, text="hi"), k.AgentReplied(turn=1, text="hello"))
    replied.when(k.RecordAgentReply(project_id=P, turn=1, text="hello")).then_nothing()


def test_interrupted_reply_keeps_what_was_heard_in_the_history():
    reply = k.AgentReplied(
        turn=1, text="Our opening hours are nine to five", interrupted=True, heard_prefix="Our opening"
    )
    s = given(call.DECIDER, *LIVE, k.UserSpoke(turn=1, text="hours?"), reply)
    assert s.state.history[-1].text == "Our opening" and s.state.history[-1].interrupted


def test_nothing_happens_after_the_end():
    ended = (*LIVE, k.CallEnded(reason="hangup"))
    given(call.DECIDER, *ended).when(k.RecordUserTurn(project_id=P, turn=1, text="hi")).then_refused(Conflict, "ended")
    given(call.DECIDER, *ended).when(k.EndCall(project_id=P, reason="completed")).then_nothing()
    given(call.DECIDER, *LIVE).when(k.EndCall(project_id=P, reason="completed")).then(k.CallEnded(reason="completed"))


def test_other_projects_see_not_found():
    given(call.DECIDER, *LIVE).when(k.EndCall(project_id="prj_b", reason="operator")).then_refused(NotFound)


RECORDED_REQ = k.CallRequested(project_id=P, **REQ, recording=True)
STORE = k.AttachRecording(
    project_id=P, recording_id="rec_1", duration_s=12.5, size_bytes=800_044, sample_rate=16000, channels=2,
    paused_s=3.0, paused_spans=((4.0, 7.0),),
)  # fmt: skip
STORED = k.RecordingStored(
    recording_id="rec_1", duration_s=12.5, size_bytes=800_044, sample_rate=16000, channels=2,
    paused_s=3.0, paused_spans=((4.0, 7.0),),
)  # fmt: skip


def test_a_recording_call_gets_its_recording_also_after_the_end():
    live = (RECORDED_REQ, OFFERED, ACCEPTED, CONNECTED)
    given(call.DECIDER, *live).when(STORE).then(STORED)
    ended = given(call.DECIDER, *live, k.CallEnded(reason="hangup"))
    ended.when(STORE).then(STORED)  # the audio stops after the call has ended
    stored = given(call.DECIDER, *live, k.CallEnded(reason="hangup"), STORED)
    assert stored.state.recording == STORED
    stored.when(STORE).then_nothing()  # a retried attach is recognised
    stored.when(msgspec.structs.replace(STORE, recording_id="rec_2")).then_refused(Conflict, "already")


def test_a_call_whose_pipe_does_not_record_gets_no_recording():
    given(call.DECIDER, *LIVE).when(STORE).then_refused(Invalid, "does not record")
    given(call.DECIDER).when(STORE).then_refused(NotFound)
    given(call.DECIDER, RECORDED_REQ).when(msgspec.structs.replace(STORE, project_id="prj_b")).then_refused(NotFound)


def test_a_recording_must_describe_a_file():
    s = given(call.DECIDER, RECORDED_REQ)
    replace = msgspec.structs.replace
    for bad in (
        replace(STORE, size_bytes=0),
        replace(STORE, channels=3),
        replace(STORE, sample_rate=0),
        replace(STORE, duration_s=-1.0),
        replace(STORE, paused_s=13.0),
        replace(STORE, paused_spans=((11.0, 13.0),)),
        replace(STORE, paused_spans=((7.0, 4.0),)),
    ):
        s.when(bad).then_refused(Invalid)


REGISTERED = r.RunnerRegistered(project_id=P, worker_id="bot#1", agent_id="bot", pool="bot", max_concurrent=4)


def test_runner_register_lose_and_come_back():
    cmd = r.RegisterRunner(project_id=P, worker_id="bot#1", agent_id="bot", pool="bot", max_concurrent=4)
    given(runner.DECIDER).when(cmd).then(REGISTERED)
    given(runner.DECIDER, REGISTERED).when(cmd).then_nothing()
    given(runner.DECIDER, REGISTERED).when(r.DeclareRunnerLost(project_id=P, reason="heartbeat")).then(
        r.RunnerLost(reason="heartbeat")
    )
    lost = given(runner.DECIDER, REGISTERED, r.RunnerLost(reason="heartbeat"))
    assert not lost.state.online
    lost.when(cmd).then(REGISTERED)
    lost.when(r.DeclareRunnerLost(project_id=P, reason="again")).then_nothing()


def test_runner_capacity_bounds():
    bad = r.RegisterRunner(project_id=P, worker_id="bot#1", agent_id="bot", pool="bot", max_concurrent=0)
    given(runner.DECIDER).when(bad).then_refused(Invalid, "max_concurrent")


def test_events_built_from_their_commands_keep_the_same_fields():
    """The call and runner deciders build these events from their commands' fields."""
    assert set(k.RequestCall.__struct_fields__) == set(k.CallRequested.__struct_fields__)
    assert set(r.RegisterRunner.__struct_fields__) == set(r.RunnerRegistered.__struct_fields__)
