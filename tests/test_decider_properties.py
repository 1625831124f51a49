"""Hypothesis properties that hold for every decider:

* folding all events a command sequence produced, from scratch, gives the state
  that was built up step by step (also after an encode/decode round trip);
* re-deciding a command that was just applied yields no events.
"""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.decider import Decider
from actors.deciders import access, call, number, pipe, runner, trunk
from actors.errors import Rejected
from bus_contracts import calls as k
from bus_contracts import commands as c
from bus_contracts import runners as r
from bus_contracts.envelope import decode_envelope, decode_payload, encode_envelope, seal
from bus_contracts.events import PipeConfig, ProviderTrunkConfig, SipTrunkConfig

# Mostly valid values, some invalid ones: the interesting sequences need commands that succeed.
projects = st.sampled_from(["prj_a", "prj_a", "prj_a", "prj_b"])
pipe_ids = st.sampled_from(["pipe_1", "pipe_2"])
number_ids = st.sampled_from(["num_1", "num_2", "num_3"])
call_ids = st.sampled_from(["call_1", "call_2"])
names = st.one_of(st.sampled_from(["Support", "Sales"]), st.text(max_size=12))
e164 = st.sampled_from(["+14155550100", "+442071838750", "+919876543210", "12345"])
profiles = st.sampled_from([None, "vp_en_male_std", "vp_local_en", "vp_local_en", "vp_missing"])
agent_ids = st.sampled_from(["bot", "billing-agent", "bad id!"])
endpoints = st.sampled_from(["https://bot.example/turn", "http://10.0.0.1:8080/x", "not a url"])
durations = st.sampled_from([60, 3600, 3600, 5, 100_000])
barge_ins = st.sampled_from([0.6, 0.6, 1.5, 0.1, 9.0])
unset_or = lambda s: st.one_of(st.just(msgspec.UNSET), s)  # noqa: E731

brains = st.one_of(
    st.tuples(agent_ids, st.none()),
    st.tuples(st.none(), endpoints),
    st.tuples(st.none() | agent_ids, st.none() | endpoints),  # possibly both or neither
)
pipe_configs = st.builds(
    lambda brain, **kw: PipeConfig(agent_id=brain[0], agent_endpoint=brain[1], **kw),
    brains,
    name=names,
    voice_profile_id=profiles,
    recording=st.booleans(),
    max_call_duration_s=durations,
    first_speaker=st.sampled_from(["agent", "user"]),
    barge_in_min_speech_s=barge_ins,
)
pipe_commands = st.one_of(
    st.builds(c.CreatePipe, project_id=projects, config=pipe_configs),
    # Updates: mostly one field at a time (as clients do), sometimes anything at all.
    st.builds(c.UpdatePipe, project_id=projects, name=names),
    st.builds(c.UpdatePipe, project_id=projects, recording=st.booleans()),
    st.builds(c.UpdatePipe, project_id=projects, max_call_duration_s=durations),
    st.builds(c.UpdatePipe, project_id=projects, barge_in_min_speech_s=barge_ins),
    st.builds(c.UpdatePipe, project_id=projects, voice_profile_id=profiles),
    brains.map(lambda b: c.UpdatePipe(project_id="prj_a", agent_id=b[0], agent_endpoint=b[1])),
    st.builds(
        c.UpdatePipe,
        project_id=projects,
        name=unset_or(names),
        voice_profile_id=unset_or(profiles),
        agent_id=unset_or(st.none() | agent_ids),
        agent_endpoint=unset_or(st.none() | endpoints),
        recording=unset_or(st.booleans()),
        max_call_duration_s=unset_or(durations),
    ),
    st.builds(c.LinkNumber, project_id=projects, number_id=number_ids),
    st.builds(c.UnlinkNumber, project_id=projects, number_id=number_ids),
    st.builds(c.DeletePipe, project_id=projects),
)
number_commands = st.one_of(
    st.builds(
        c.AddNumber,
        project_id=projects,
        number=e164,
        source=st.sampled_from(["trunk", "byon"]),
        trunk_id=st.sampled_from([None, "trk_1"]),
    ),
    st.builds(c.AttachNumber, project_id=projects, pipe_id=pipe_ids),
    st.builds(c.DetachNumber, project_id=projects),
    st.builds(c.StartNumberCall, project_id=projects, call_id=call_ids),
    st.builds(c.EndNumberCall, project_id=projects, call_id=call_ids),
    st.builds(c.ReleaseNumber, project_id=projects),
)
sip = st.builds(SipTrunkConfig, address=st.sampled_from(["sip.example.net", " "]), port=st.sampled_from([5060, 0]))
provider = st.builds(ProviderTrunkConfig, provider=st.sampled_from(["twilio", "telnyx"]))
trunk_kinds = st.one_of(
    st.tuples(st.just("sip"), sip, st.none()),
    st.tuples(st.just("provider"), st.none(), provider),
    st.tuples(st.sampled_from(["sip", "provider"]), st.none() | sip, st.none() | provider),
)
trunk_commands = st.one_of(
    st.builds(
        lambda kind, **kw: c.RegisterTrunk(type=kind[0], sip=kind[1], provider=kind[2], **kw),
        trunk_kinds,
        project_id=projects,
        name=names,
        numbers=st.lists(e164, max_size=3, unique=True).map(tuple),
    ),
    st.builds(c.RecordTrunkNumbers, project_id=projects, number_ids=st.lists(number_ids, max_size=4).map(tuple)),
    st.builds(c.DeleteTrunk, project_id=projects),
)
project_commands = st.builds(c.CreateProject, project_id=projects, name=names)
key_commands = st.one_of(
    st.builds(
        c.IssueApiKey, project_id=projects, name=names, key_hash=st.sampled_from(["h1", "h2"]), prefix=st.just("sk")
    ),
    st.builds(c.RevokeApiKey, project_id=projects),
)

workers = st.sampled_from(["bot#1", "bot#2"])
assigns = st.sampled_from(["as_1", "as_2", "as_3"])
small = st.integers(min_value=0, max_value=4)
call_commands = st.one_of(
    st.builds(k.QueueCall, project_id=projects),
    st.builds(k.AssignRunner, project_id=projects, worker_id=workers, assign_id=assigns, deadline_ms=st.just(2000)),
    st.builds(k.AcceptAssignment, project_id=projects, worker_id=workers, assign_id=assigns),
    st.builds(k.RejectAssignment, project_id=projects, worker_id=workers, assign_id=assigns, reason=st.just("timeout")),
    st.builds(k.ConnectBridge, project_id=projects, worker_id=workers),
    st.builds(k.LoseRunner, project_id=projects, worker_id=workers, reason=st.just("heartbeat")),
    st.builds(k.RecordAgentSaid, project_id=projects, utterance=small, text=names),
    st.builds(k.RecordUserTurn, project_id=projects, turn=small, text=names),
    st.builds(k.RecordAgentReply, project_id=projects, turn=small, text=names, interrupted=st.booleans()),
    st.builds(
        k.RecordAgentFailure,
        project_id=projects,
        turn=small,
        code=st.just("endpoint_timeout"),
        message=names,
        fallback=names,
    ),
    st.builds(
        k.RequestTransfer, project_id=projects, transfer_type=st.just("human"), target=st.sampled_from(["q1", "q2"])
    ),
    st.builds(
        k.HandOver,
        project_id=projects,
        worker_id=workers,
        agent_id=st.sampled_from(["billing-agent", ""]),
        via=st.sampled_from(["transfer", "dispatch"]),
    ),
    st.builds(k.RecordInterruption, project_id=projects, turn=small, heard_prefix=st.sampled_from(["", "Okay", "x"])),
    st.builds(
        k.RecordProviderSkip,
        project_id=projects,
        kind=st.sampled_from(["stt", "tts"]),
        provider=st.just("deepgram"),
        reason=names,
    ),
    st.builds(k.RequestEnd, project_id=projects, reason=st.just("bye"), by=st.just("agent")),
    st.builds(k.EndCall, project_id=projects, reason=st.sampled_from(["completed", "hangup"])),
    # A recording: mostly one that describes a file, sometimes anything at all.
    st.builds(
        k.AttachRecording,
        project_id=projects,
        recording_id=st.sampled_from(["rec_1", "rec_2"]),
        duration_s=st.just(12.5),
        size_bytes=st.just(800_044),
        sample_rate=st.just(16000),
        channels=st.just(2),
        paused_s=st.just(3.0),
        paused_spans=st.just(((4.0, 7.0),)),
    ),
    st.builds(
        k.AttachRecording,
        project_id=projects,
        recording_id=st.sampled_from(["rec_1", "rec_2"]),
        duration_s=st.sampled_from([0.0, 12.5, -1.0]),
        size_bytes=st.sampled_from([44, 800_044, 0]),
        sample_rate=st.sampled_from([16000, 0]),
        channels=st.sampled_from([2, 1, 3]),
        paused_s=st.sampled_from([0.0, 3.0]),
        paused_spans=st.sampled_from([(), ((4.0, 7.0),), ((11.0, 13.0),)]),
    ),
)
call_opening = st.builds(
    k.RequestCall,
    project_id=st.just("prj_a"),
    pipe_id=st.just("pipe_1"),
    session_id=st.just("sess_1"),
    direction=st.sampled_from(["web", "inbound", "outbound"]),
    agent_id=st.just("bot"),
    recording=st.booleans(),
)
# Half the time the call opens with a whole dispatch (same worker and assignment
# throughout), so sequences reach the connected phase and its conversation.
call_openings = st.one_of(
    call_opening.map(lambda req: [req]),
    st.tuples(call_opening, workers, assigns).map(
        lambda t: [
            t[0],
            k.AssignRunner(project_id="prj_a", worker_id=t[1], assign_id=t[2], deadline_ms=2000),
            k.AcceptAssignment(project_id="prj_a", worker_id=t[1], assign_id=t[2]),
            k.ConnectBridge(project_id="prj_a", worker_id=t[1]),
        ]
    ),
)
runner_commands = st.one_of(
    st.builds(
        r.RegisterRunner,
        project_id=projects,
        worker_id=workers,
        agent_id=st.just("bot"),
        pool=st.sampled_from(["bot", "bot@dev"]),
        max_concurrent=st.sampled_from([0, 1, 4, 20]),
    ),
    st.builds(r.DeclareRunnerLost, project_id=projects, reason=st.just("heartbeat")),
    st.builds(r.DeregisterRunner, project_id=projects),
)

CASES = [
    # (decider, the command that usually opens a sequence, any command)
    (pipe.DECIDER, st.builds(c.CreatePipe, project_id=st.just("prj_a"), config=pipe_configs), pipe_commands),
    (
        number.DECIDER,
        st.builds(c.AddNumber, project_id=st.just("prj_a"), number=e164, source=st.just("byon")),
        number_commands,
    ),
    (trunk.DECIDER, trunk_commands, trunk_commands),
    (access.PROJECT_DECIDER, project_commands, project_commands),
    (access.KEY_DECIDER, key_commands, key_commands),
    (call.DECIDER, call_openings, call_commands),
    (runner.DECIDER, runner_commands, runner_commands),
]


def run(decider: Decider, commands):
    state = decider.initial()
    produced = []
    for cmd in commands:
        try:
            events = list(decider.decide(cmd, state))
        except Rejected:
            continue
        state = decider.fold(state, events)
        produced.extend(events)
        # Re-deciding the command just applied changes nothing.
        assert list(decider.decide(cmd, state)) == [], cmd
    return state, produced


def round_trip(event):
    env = seal(
        event,
        aggregate_id="agg_1",
        project_id="prj_a",
        trace={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
    )
    back = decode_envelope(encode_envelope(env))
    assert back == env
    return decode_payload(back)


def _property(decider: Decider, opening, strategy):
    @settings(max_examples=300, deadline=None)
    @given(opening, st.lists(strategy, min_size=3, max_size=30))
    def prop(first, rest):
        opening = first if isinstance(first, list) else [first]
        state, produced = run(decider, [*opening, *rest])
        assert decider.fold(decider.initial(), produced) == state
        decoded = [round_trip(ev) for ev in produced]
        assert decoded == produced
        assert decider.fold(decider.initial(), decoded) == state

    return prop


test_pipe_properties = _property(*CASES[0])
test_number_properties = _property(*CASES[1])
test_trunk_properties = _property(*CASES[2])
test_project_properties = _property(*CASES[3])
test_key_properties = _property(*CASES[4])
test_call_properties = _property(*CASES[5])
test_runner_properties = _property(*CASES[6])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_envelope_decoder_never_crashes_on_garbage(raw):
    try:
        env = decode_envelope(raw)
    except msgspec.DecodeError:
        return
    decode_payload(env)
