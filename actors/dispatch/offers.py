"""Reaching a runner's owner node: directly when it is this node, else over NATS.

The owner answers two requests on ``unpod.node.<node_id>.runners``: ``reserve``
(hold a slot; refused when full) and ``deliver`` (send ``job.assign``, wait for
the ack). Because only the owner reserves, no two nodes can overbook a runner.
"""

from __future__ import annotations

import logging

import msgspec
import nats.errors

from actors.dispatch.dispatcher import RunnerOffers
from actors.dispatch.load_board import RunnerLoad
from actors.dispatch.registry import LocalRunners, OfferResult
from bus_contracts import frames as f

log = logging.getLogger(__name__)


def node_subject(node_id: str) -> str:
    return f"unpod.node.{node_id}.runners"


class _Request(msgspec.Struct, kw_only=True):
    op: str
    worker_id: str
    deadline_s: float
    assign_id: str | None = None
    assign: f.JobAssign | None = None
    job_id: str | None = None


class _Reply(msgspec.Struct, kw_only=True):
    ok: bool
    reason: str | None = None


_req_decoder = msgspec.json.Decoder(_Request)
_reply_decoder = msgspec.json.Decoder(_Reply)
_encoder = msgspec.json.Encoder()


class NodeOffers(RunnerOffers):
    def __init__(self, nc, node_id: str, local: LocalRunners) -> None:
        self.nc = nc
        self.node_id = node_id
        self.local = local
        self._sub = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(node_subject(self.node_id), cb=self._serve)

    async def stop(self) -> None:
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception:  # connection already closed
                pass

    async def reserve(self, runner: RunnerLoad, assign_id: str, deadline_s: float) -> str | None:
        if runner.node_id == self.node_id:
            return self.local.reserve(runner.worker_id, assign_id, deadline_s)
        reply = await self._ask(
            runner, _Request(op="reserve", worker_id=runner.worker_id, deadline_s=deadline_s, assign_id=assign_id), 2.0
        )
        return None if reply.ok else (reply.reason or "no_capacity")

    async def deliver(self, runner: RunnerLoad, assign: f.JobAssign, deadline_s: float) -> OfferResult:
        if runner.node_id == self.node_id:
            return await self.local.deliver(runner.worker_id, assign, deadline_s)
        request = _Request(op="deliver", worker_id=runner.worker_id, deadline_s=deadline_s, assign=assign)
        reply = await self._ask(runner, request, deadline_s + 2.0)
        return OfferResult(reply.ok, reply.reason or ("accepted" if reply.ok else "rejected"))

    async def finish(self, node_id: str, worker_id: str, job_id: str) -> None:
        if node_id == self.node_id:
            await self.local.finish(worker_id, job_id)
            return
        await self._ask_node(node_id, _Request(op="finish", worker_id=worker_id, deadline_s=0, job_id=job_id), 2.0)

    async def _ask(self, runner: RunnerLoad, request: _Request, timeout: float) -> _Reply:
        return await self._ask_node(runner.node_id, request, timeout)

    async def _ask_node(self, node_id: str, request: _Request, timeout: float) -> _Reply:
        try:
            msg = await self.nc.request(node_subject(node_id), _encoder.encode(request), timeout=timeout)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            return _Reply(ok=False, reason="gone")  # that node is down or unreachable
        return _reply_decoder.decode(msg.data)

    async def _serve(self, msg) -> None:
        try:
            request = _req_decoder.decode(msg.data)
        except msgspec.DecodeError as exc:
            await msg.respond(_encoder.encode(_Reply(ok=False, reason=f"bad request: {exc}")))
            return
        if request.op == "reserve" and request.assign_id:
            refused = self.local.reserve(request.worker_id, request.assign_id, request.deadline_s)
            reply = _Reply(ok=refused is None, reason=refused)
        elif request.op == "finish" and request.job_id:
            await self.local.finish(request.worker_id, request.job_id)
            reply = _Reply(ok=True)
        elif request.op == "deliver" and request.assign is not None:
            result = await self.local.deliver(request.worker_id, request.assign, request.deadline_s)
            reply = _Reply(ok=result.accepted, reason=result.reason)
        else:
            reply = _Reply(ok=False, reason="bad request")
        await msg.respond(_encoder.encode(reply))
