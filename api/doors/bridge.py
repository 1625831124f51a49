"""Door 3: the per-call bridge ``/v1/bridge/{call_id}?token=...``, served by the
node hosting the call. Close codes: 4003 bad/expired token or unknown call,
4009 a second bridge for a live call, 4400 the first frame was not ``hello``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from actors.deciders.call import runner_metadata
from api.deps import NodeDep
from bus_contracts import calls as k
from bus_contracts import frames as f
from bus_contracts.voice_profiles import DEFAULT_PROFILE_ID

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 10.0


@websocket("/v1/bridge/{call_id:str}")
async def bridge_socket(socket: WebSocket, call_id: FromPath[str], node: NodeDep) -> None:
    await socket.accept()
    worker_id = node.tokens.verify(socket.query_params.get("token", ""), call_id)
    session = node.sessions.get(call_id)
    if worker_id is None or session is None or session.ended:
        await socket.close(code=4003, reason="invalid or expired token, or no such live call")
        return
    if session.worker_id is not None and worker_id != session.worker_id:
        await socket.close(code=4003, reason="this token was issued to another runner")
        return
    if session.bridge_send is not None:
        await socket.close(code=4009, reason="this call already has a live bridge")
        return
    try:
        hello = f.decode_verb(await asyncio.wait_for(socket.receive_text(), HELLO_TIMEOUT_S))
    except (TimeoutError, f.MalformedFrame, WebSocketDisconnect):
        hello = None
    if not isinstance(hello, f.Hello):
        with contextlib.suppress(Exception):
            await socket.close(code=4400, reason="expected hello")
        return
    request = session.request
    events = [e for e in f.SERVER_EVENTS if not hello.supported_events or e in hello.supported_events]
    verbs = [
        v
        for v in f.RUNNER_VERBS
        if v not in f.NOT_OFFERED and (not hello.supported_verbs or v in hello.supported_verbs)
    ]
    job_id = session.job_id or ""
    await socket.send_text(
        f.encode(
            f.HelloAck(
                protocol_version=f.PROTOCOL_VERSION,
                negotiated_events=events,
                negotiated_verbs=verbs,
                call_id=call_id,
                session_id=request.session_id,
                job_id=job_id,
                room_id=call_id,
            )
        )
    )
    state = (await node.calls.view(call_id)).state  # this node writes the call: its view is current
    # Turns about to be sent to this runner as turns are not history too.
    resent = {turn.turn_id for turn in session.pending}
    history = [
        {"role": line.role, "text": line.text}
        for line in state.history
        if line.role == "agent" or line.turn not in resent
    ]
    await socket.send_text(
        f.encode(
            f.CallStarted(
                session_id=request.session_id,
                job_id=job_id,
                room_id=call_id,
                metadata={"call_id": call_id, **runner_metadata(state), "history": history},
                voice_profile_id=request.voice_profile_id or DEFAULT_PROFILE_ID,
                agent_id=state.agent_id or "",
            )
        )
    )
    await node.calls.execute(call_id, k.ConnectBridge(project_id=request.project_id, worker_id=worker_id))

    async def close(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await socket.close(code=code, reason=reason)

    await session.bridge_connected(socket.send_text, close)
    code: int | None = None
    try:
        while True:
            raw = await socket.receive_text()
            try:
                frame = f.decode_verb(raw)
            except f.MalformedFrame as exc:
                await socket.send_text(
                    f.encode(
                        f.BridgeError(
                            severity="warn", source="internal", code="malformed_frame", message=str(exc)[:300]
                        )
                    )
                )
                continue
            if isinstance(frame, f.UnknownFrame):
                await socket.send_text(
                    f.encode(
                        f.BridgeError(
                            severity="warn",
                            source="internal",
                            code="unknown_verb",
                            message=f"unknown event {frame.tag!r}",
                        )
                    )
                )
                continue
            if session.bridge_send != socket.send_text:  # the call let this bridge go (handed over)
                break
            await session.verb(frame)
    except WebSocketDisconnect as exc:
        code = exc.code
    finally:
        await session.bridge_closed(code, socket.send_text)
