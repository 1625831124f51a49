"""Slots of one runner, kept by the node that holds its control socket.

That node is the only one that reserves a runner's slots, so reservations are
serialised in one event loop and two API nodes can never overbook a runner:
a dispatcher elsewhere asks the owner to reserve and is told yes or no.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class RunnerSlots:
    worker_id: str
    project_id: str
    agent_id: str
    pool: str
    capacity: int
    node_id: str
    #: job_id -> call_id of calls the runner has accepted.
    active: dict[str, str] = field(default_factory=dict)
    #: assign_id -> monotonic deadline of offers awaiting job.ack.
    reserved: dict[str, float] = field(default_factory=dict)
    #: What the runner itself last reported (heartbeat), for diagnostics.
    reported_active: int = 0
    draining: bool = False
    #: The runner refused an offer as at capacity although its slots here looked free
    #: (it counts work we do not see). Believed until a call of its ends or a heartbeat
    #: reports room: else its own released reservation would wake queued calls only
    #: for it to refuse them again, over and over.
    says_full: bool = False

    @property
    def load(self) -> int:
        return len(self.active) + len(self.reserved)

    @property
    def free(self) -> int:
        return 0 if self.draining or self.says_full else max(0, self.capacity - self.load)

    def reserve(self, assign_id: str, deadline_s: float) -> bool:
        """Hold a slot for an offer; False when the runner is full or draining."""
        self.expire()
        if self.free <= 0:
            return False
        self.reserved[assign_id] = time.monotonic() + deadline_s
        return True

    def confirm(self, assign_id: str, job_id: str, call_id: str) -> None:
        """The runner accepted: the reservation becomes an active call."""
        self.reserved.pop(assign_id, None)
        self.active[job_id] = call_id

    def release(self, assign_id: str) -> None:
        self.reserved.pop(assign_id, None)

    def finish(self, job_id: str) -> str | None:
        """The call ended (or moved): its slot is free again."""
        self.says_full = False
        return self.active.pop(job_id, None)

    def reported(self, active_jobs: int) -> bool:
        """A heartbeat's count of the runner's calls; True if that changes what is free."""
        self.reported_active = active_jobs
        full = active_jobs >= self.capacity and self.says_full
        changed, self.says_full = full != self.says_full, full
        return changed

    def expire(self) -> None:
        """Drop reservations whose offer outlived its deadline (a lost reply)."""
        now = time.monotonic()
        for assign_id in [a for a, deadline in self.reserved.items() if deadline < now]:
            del self.reserved[assign_id]
