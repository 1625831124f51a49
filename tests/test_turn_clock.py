"""TurnClock (pure): which turn a reply answers, and from when it is timed."""

from __future__ import annotations

from actors.turn_clock import TurnClock


def test_replies_answer_turns_in_order_and_queued_turns_start_when_the_last_reply_ends():
    clock = TurnClock()
    clock.sent(1)
    clock.sent(2)  # spoken while 1 is being answered
    assert clock.current == 1
    clock.delta()
    first = clock.end()
    assert first.turn == 1 and 0 <= first.timings.agent_ttft_ms <= first.timings.agent_total_ms
    second = clock.end()
    assert second.turn == 2 and second.timings.agent_total_ms <= first.timings.agent_total_ms + 1000
    assert clock.end().turn is None  # an end nobody asked for


def test_a_lost_runner_leaves_nothing_waiting_and_answered_turns_are_skipped():
    clock = TurnClock()
    clock.sent(2)
    clock.forget()  # the runner is gone; turn 2 is sent again to the next one
    clock.sent(2)
    clock.sent(3)
    assert [clock.end().turn, clock.end().turn] == [2, 3]
    clock.sent(4)
    clock.sent(5)
    assert clock.end(answered=4).turn == 5  # 4 was answered some other way
