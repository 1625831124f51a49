"""Slot accounting of one runner (pure)."""

from __future__ import annotations

import time

from actors.dispatch.slots import RunnerSlots


def slots(capacity=2):
    return RunnerSlots(worker_id="bot#1", project_id="p", agent_id="bot", pool="bot", capacity=capacity, node_id="n1")


def test_capacity_minus_active_and_reserved():
    s = slots(2)
    assert s.reserve("a1", 2.0) and s.reserve("a2", 2.0)
    assert not s.reserve("a3", 2.0)  # full: both slots held by offers
    s.confirm("a1", "job1", "call1")
    assert (len(s.active), len(s.reserved), s.free) == (1, 1, 0)
    s.release("a2")  # rejected
    assert s.free == 1 and s.reserve("a4", 2.0)
    assert s.finish("job1") == "call1"
    assert s.free == 1


def test_draining_runner_takes_nothing():
    s = slots(5)
    s.draining = True
    assert s.free == 0 and not s.reserve("a1", 2.0)


def test_an_offer_whose_reply_was_lost_frees_its_slot_after_the_deadline(monkeypatch):
    s = slots(1)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now)
    assert s.reserve("a1", 2.0)
    assert not s.reserve("a2", 2.0)
    monkeypatch.setattr(time, "monotonic", lambda: now + 2.5)
    assert s.reserve("a2", 2.0)  # a1 expired
    assert list(s.reserved) == ["a2"]


def test_a_runner_that_says_it_is_full_is_believed_until_it_has_room():
    s = slots(2)
    s.confirm("a1", "job1", "call1")
    assert s.free == 1
    s.says_full = True  # it refused an offer: at_capacity (work we do not see)
    assert s.free == 0 and not s.reserve("a2", 2.0)
    assert not s.reported(2)  # a heartbeat counting 2 calls: still full
    assert s.free == 0
    assert s.reported(1)  # a heartbeat with room: free again
    assert s.free == 1
    s.says_full = True
    s.finish("job1")  # one of its calls ended: room again
    assert s.free == 2
