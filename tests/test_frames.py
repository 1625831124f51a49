"""The door 2/3 frame codec: tolerant of what peers send, strict about what we send."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bus_contracts import frames as f


def test_register_from_the_published_sdk_decodes_with_extra_fields_ignored():
    raw = json.dumps(
        {
            "type": "register",
            "worker_id": "bot#a1b2",
            "pool": "bot",
            "capabilities": {"agent_id": "bot", "max_concurrent": 20, "transport": "dial_out", "kind": "brain",
                             "voice_profiles": [], "hostname": "h", "sdk_version": "0.5.0"},
            "something_new": 1,
        }
    )  # fmt: skip
    frame = f.decode_control(raw)
    assert isinstance(frame, f.Register)
    assert (frame.worker_id, frame.capabilities.agent_id, frame.capabilities.max_concurrent) == ("bot#a1b2", "bot", 20)


@pytest.mark.parametrize("raw", ['{"type": "teleport"}', '{"event": "agent.dance"}'])
def test_unknown_tags_are_reported_not_raised(raw):
    decoded = f.decode_control(raw) if "type" in raw else f.decode_verb(raw)
    assert isinstance(decoded, f.UnknownFrame)


@pytest.mark.parametrize(
    "raw",
    ["", "[]", "nope", '{"type": 5}', '{"type": "register"}', '{"type": "job.ack", "job_id": "j", "accepted": "yes"}'],
)
def test_malformed_control_frames_raise_a_clear_error(raw):
    with pytest.raises(f.MalformedFrame):
        f.decode_control(raw)


def test_frames_we_send_contain_no_nulls_for_the_published_sdk():
    """Its parser rejects null where it expects a string and then drops the socket."""
    sent = [
        f.Registered(heartbeat_interval_s=5),
        f.JobAssign(
            job_id="j", call_id="c", agent_id="a", bridge_url="ws://x/v1/bridge/c", call_token="t", assign_id="as"
        ),
        f.JobCancel(job_id="j"),
        f.HelloAck(
            protocol_version=2,
            negotiated_events=[],
            negotiated_verbs=[],
            call_id="c",
            session_id="s",
            job_id="j",
            room_id="r",
        ),
        f.CallStarted(
            session_id="s", job_id="j", room_id="r", metadata={}, voice_profile_id="vp_local_en", agent_id="a"
        ),
        f.UserText(text="hi"),
        f.UserInterrupted(heard_prefix="Our opening"),
        f.State(state="thinking"),
    ]  # fmt: skip  (turn.metrics and metric timings are "number or null" there: nulls allowed)
    for frame in sent:
        body = json.loads(f.encode(frame))
        assert None not in body.values(), body
    assert json.loads(f.encode(f.Registered(heartbeat_interval_s=5)))["transport_ack"] == "dial_out"


verbs = st.one_of(
    st.builds(f.AgentTextDelta, text=st.text()),
    st.builds(f.AgentTextEnd),
    st.builds(f.AgentSay, text=st.text()),
    st.builds(f.AgentEndCall, reason=st.text()),
    st.builds(f.AgentTransfer, target=st.text(), transfer_type=st.sampled_from(["number", "agent", "human"])),
    st.builds(f.Hello, supported_events=st.lists(st.text(max_size=10)), supported_verbs=st.lists(st.text(max_size=10))),
)
controls = st.one_of(
    st.builds(f.Heartbeat, active_jobs=st.integers(0, 10_000), worker_id=st.text()),
    st.builds(f.JobAck, job_id=st.text(), assign_id=st.text(), accepted=st.booleans(), reason=st.none() | st.text()),
    st.builds(f.Register, worker_id=st.text(), pool=st.text()),
)


@settings(max_examples=300)
@given(verbs)
def test_verbs_round_trip(frame):
    assert f.decode_verb(f.encode(frame)) == frame


@settings(max_examples=300)
@given(controls)
def test_control_frames_round_trip(frame):
    assert f.decode_control(f.encode(frame)) == frame


@settings(max_examples=500)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_arbitrary_input_never_escapes_as_anything_but_malformed(raw):
    for decode in (f.decode_control, f.decode_verb):
        try:
            result = decode(raw)
        except f.MalformedFrame:
            continue
        assert isinstance(result, (f.UnknownFrame, msgspec.Struct))
