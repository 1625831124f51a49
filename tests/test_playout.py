"""The node's model of the client's playback: how far ahead the bot's audio is sent and
when a chunk counts as late (speech.playout)."""

from hypothesis import given
from hypothesis import strategies as st

from speech.playout import LEAD_S, MARGIN_S, NEW_UTTERANCE_S, ClientPlayout

CHUNK = 0.040


def steady(playout: ClientPlayout, chunks: int, now: float = 100.0) -> float:
    """Send ``chunks`` as the pacing asks; returns the time after the last one's wait."""
    for _ in range(chunks):
        playout.send(CHUNK, now)
        now += playout.wait_s(now)
    return now


def test_a_reply_starts_at_once_and_is_sent_a_lead_ahead_of_playback():
    playout = ClientPlayout()
    assert playout.send(CHUNK, 100.0) is None  # the first chunk: nothing waited for it
    # The client starts playing it now; the next chunks go at once until it holds the lead.
    assert playout.wait_s(100.0) == 0.0
    playout.send(CHUNK, 100.0)
    playout.send(CHUNK, 100.0)
    assert playout.wait_s(100.0) < 1e-9  # 120 ms buffered: not yet more than the lead
    playout.send(CHUNK, 100.0)
    assert abs(playout.wait_s(100.0) - CHUNK) < 1e-9  # 160 ms: wait until it is down to 120
    now = steady(playout, 50, 100.0)
    assert abs((playout.played_until - now) - LEAD_S) < 1e-9  # then real time, a lead ahead


def test_a_stall_is_late_only_when_the_client_would_be_left_under_the_margin():
    playout = ClientPlayout()
    now = steady(playout, 10)
    assert playout.send(CHUNK, now + 0.070) == 0.0  # 50 ms still buffered at the client: on time
    playout = ClientPlayout()
    now = steady(playout, 10)
    late = playout.send(CHUNK, now + 0.100)  # 20 ms left: 20 ms under the network's margin
    assert abs(late - (0.100 - (LEAD_S - MARGIN_S))) < 1e-9


def test_the_margin_is_kept_from_the_second_chunk_on():
    playout = ClientPlayout()
    playout.send(CHUNK, 100.0)
    # The client plays the first chunk on arrival: the second is late only once it has played out.
    assert playout.send(CHUNK, 100.030) == 0.0
    playout = ClientPlayout()
    playout.send(CHUNK, 100.0)
    assert abs(playout.send(CHUNK, 100.050) - 0.010) < 1e-9  # 10 ms of nothing
    # From then on the client holds what came after the first chunk toward the margin.
    assert abs(playout.send(CHUNK, 100.070) - (MARGIN_S - 0.020)) < 1e-9  # 20 ms left of 40 sent


def test_a_gap_within_an_utterance_is_late_by_all_of_it_and_a_pause_is_a_new_utterance():
    playout = ClientPlayout()
    steady(playout, 10)
    ran_dry = playout.played_until
    late = playout.send(CHUNK, ran_dry + 0.150)  # the caller heard 150 ms of nothing
    assert abs(late - (0.150 + MARGIN_S)) < 1e-9
    assert abs(playout.played_until - (ran_dry + 0.150 + CHUNK)) < 1e-9  # playback restarts on arrival

    playout = ClientPlayout()
    steady(playout, 10)
    assert playout.send(CHUNK, playout.played_until + NEW_UTTERANCE_S + 0.01) is None  # the bot was quiet


def test_an_interruption_empties_the_client():
    playout = ClientPlayout()
    now = steady(playout, 10)
    playout.clear()
    assert playout.send(CHUNK, now) is None and playout.wait_s(now) == 0.0


@given(
    chunks=st.lists(st.sampled_from([0.010, 0.020, 0.040, 0.080]), min_size=1, max_size=200),
    jitter=st.lists(st.floats(0.0, LEAD_S - MARGIN_S), min_size=200, max_size=200),  # stalls within the slack
)
def test_once_the_lead_is_built_a_stall_under_the_slack_is_never_late(chunks, jitter):
    playout = ClientPlayout()
    now = 50.0
    for size, stall in zip(chunks, jitter, strict=False):
        late = playout.send(size, now)
        assert late is None or late < 1e-9
        assert playout.played_until - now <= LEAD_S + size + 1e-9  # never more than a chunk past the lead
        wait = playout.wait_s(now)
        now += wait + (stall if wait else 0.0)  # the loop held us this long past the pacing's moment
