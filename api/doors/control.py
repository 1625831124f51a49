"""Door 2: the AgentRunner control socket, ``/v1/internal/workers``.

Close codes: 4001 bad or missing key (the published SDK then stops retrying),
4002 unsupported transport, 4008 missed heartbeats, 4009 replaced by a newer
connection of the same worker, 4400 first frame was not a valid ``register``.
Frames that are malformed or unknown after registration get an ``error`` frame;
the socket stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from actors.deciders.pipe import AGENT_ID_RE
from actors.dispatch.registry import RunnerLink
from actors.dispatch.slots import RunnerSlots
from actors.errors import Rejected
from api.deps import NodeDep, authenticate
from api.node import Node
from bus_contracts import frames as f
from bus_contracts import runners as r
from bus_contracts.ids import runner_aggregate_id

log = logging.getLogger(__name__)
WORKER_ID_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
REGISTER_TIMEOUT_S = 10.0


async def _project_of(node: Node, socket: WebSocket) -> str | None:
    """The key's project. The published SDK sends ``Token <key>`` (+ ``Org-Handle``), ours ``Bearer``."""
    scheme, _, token = socket.headers.get("authorization", "").partition(" ")
    if scheme.lower() not in ("bearer", "token") or not token.strip():
        return None
    principal = await authenticate(node.reads, token.strip())
    return principal.project_id if principal else None


@websocket("/v1/internal/workers")
async def control_socket(socket: WebSocket, node: NodeDep) -> None:
    await socket.accept()
    project_id = await _project_of(node, socket)
    if project_id is None:
        await socket.close(code=4001, reason="invalid or missing API key")
        return
    try:
        raw = await asyncio.wait_for(socket.receive_text(), REGISTER_TIMEOUT_S)
        frame = f.decode_control(raw)
    except (TimeoutError, f.MalformedFrame, WebSocketDisconnect) as exc:
        with contextlib.suppress(Exception):
            await socket.close(code=4400, reason=f"expected a register frame first ({type(exc).__name__})")
        return
    problem = _check_register(frame)
    if problem is not None:
        code = 4002 if problem.startswith("transport") else 4400
        await socket.close(code=code, reason=problem)
        return
    assert isinstance(frame, f.Register)
    caps = frame.capabilities
    try:
        await node.runners.execute(
            runner_aggregate_id(frame.worker_id),
            r.RegisterRunner(
                project_id=project_id,
                worker_id=frame.worker_id,
                agent_id=caps.agent_id,
                pool=frame.pool or caps.agent_id,
                max_concurrent=caps.max_concurrent,
                transport=caps.transport,
                hostname=caps.hostname,
                region=caps.region,
                node_id=node.node_id,
            ),
        )
    except Rejected as exc:
        await socket.close(code=4400, reason=exc.message[:120])
        return
    interval = node.settings.runner_heartbeat_s
    await socket.send_text(f.encode(f.Registered(heartbeat_interval_s=interval, transport_ack="dial_out")))

    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await socket.close(code=code, reason=reason)

    link = RunnerLink(
        slots=RunnerSlots(
            worker_id=frame.worker_id,
            project_id=project_id,
            agent_id=caps.agent_id,
            pool=frame.pool or caps.agent_id,
            capacity=caps.max_concurrent,
            node_id=node.node_id,
        ),
        send=socket.send_text,
        close=close,
        features=frozenset(caps.features),
    )
    replaced = await node.local_runners.attach(link)
    if replaced is not None:
        await replaced.close(4009, "replaced by a newer connection of this worker")
    watchdog = asyncio.create_task(_watch_heartbeats(node, link, interval), name=f"heartbeat:{frame.worker_id}")
    reason = "disconnected"
    try:
        while True:
            raw = await socket.receive_text()
            try:
                frame_in = f.decode_control(raw)
            except f.MalformedFrame as exc:
                await socket.send_text(f.encode(f.ControlError(code="malformed_frame", message=str(exc)[:300])))
                continue
            match frame_in:
                case f.Heartbeat(active_jobs=active):
                    link.last_heartbeat = time.monotonic()
                    if link.slots.reported(active):
                        node.local_runners.mark_changed(link)
                case f.JobAck():
                    if not node.local_runners.on_ack(frame.worker_id, frame_in):
                        log.info("late or unknown job.ack from %s for %s", frame.worker_id, frame_in.job_id)
                case f.Register():
                    await socket.send_text(
                        f.encode(f.ControlError(code="already_registered", message="this socket is registered"))
                    )
                case f.UnknownFrame(tag=tag):
                    await socket.send_text(
                        f.encode(f.ControlError(code="unknown_frame", message=f"unknown frame type {tag!r}"))
                    )
    except WebSocketDisconnect:
        pass
    except asyncio.CancelledError:
        reason = "node_shutdown"
        raise
    finally:
        watchdog.cancel()
        if watchdog.done() and not watchdog.cancelled() and watchdog.exception() is None:
            reason = "heartbeat"
        await node.local_runners.detach(link)
        if node.local_runners.links.get(frame.worker_id) is None:  # not replaced by a newer connection
            with contextlib.suppress(Exception):
                await node.runners.execute(
                    runner_aggregate_id(frame.worker_id), r.DeclareRunnerLost(project_id=project_id, reason=reason)
                )


def _check_register(frame: object) -> str | None:
    if not isinstance(frame, f.Register):
        return "expected a register frame first"
    caps = frame.capabilities
    if not AGENT_ID_RE.match(caps.agent_id or ""):
        return "capabilities.agent_id is missing or not a valid agent id"
    if not WORKER_ID_RE.match(frame.worker_id):
        return "worker_id must be 1-200 printable characters"
    if frame.pool and frame.pool not in (caps.agent_id, f"{caps.agent_id}@dev"):
        return "pool must be the agent_id or <agent_id>@dev"
    if caps.transport != "dial_out":
        return f"transport {caps.transport!r} is not supported (only dial_out)"
    if not 1 <= caps.max_concurrent <= 100_000:
        return "capabilities.max_concurrent must be between 1 and 100000"
    return None


async def _watch_heartbeats(node: Node, link: RunnerLink, interval: int) -> None:
    """Close the socket of a runner that misses three heartbeats in a row."""
    while True:
        await asyncio.sleep(interval)
        if time.monotonic() - link.last_heartbeat > 3 * interval:
            await link.close(4008, "missed heartbeats")
            return
        await node.local_runners.publish(link)  # keeps the board entry fresh
