"""Door 1: clients (browsers, apps, chat channels) at ``/v1/pipes/{pipe_id}/connect?token=...``,
or at ``/v1/sessions/connect?token=...``, where the pipe is the one the token was issued for
(what the web SDK uses: it needs only the token).

JSON frames carry control and text; binary frames carry audio (see client_audio):
after ``{"type": "audio.start", "input_sample_rate": 16000, "output_sample_rate": N}``
(answered by ``audio.started``) the caller's 16-bit mono PCM goes up and the bot's comes
down, and ``playback.clear`` tells the client to drop the bot audio it holds. Client ->
server: ``{"type": "user.text", "text": ...}``, ``{"type": "hangup"}``. Server -> client:
``session.started``, ``state``, ``user.turn``, ``agent.delta``, ``agent.reply`` (with
``timings``), ``agent.say``, ``agent.filler`` (the agent is slow: its filler is played),
``transfer`` (the call moved to another agent), ``recording.paused`` and
``recording.resumed`` (a recording pipe's agent paused or resumed the recording; what
the client sends in between is recorded as silence), ``error``,
``session.ended`` (with the reason). When the pipe records, the voice session's
audio is stored once it stops (speech.recording) and attached to the call.
Close codes: 4003 invalid, used or expired session token; 4004 no such pipe;
1013 this node is draining (connect again: the token was not used).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from actors.call_session import CallSession
from api.deps import NodeDep
from api.doors.client_audio import AudioRefused, ClientAudio
from api.ws_protocol import READ_AT
from bus_contracts import calls as k
from bus_contracts.ids import new_call_id, new_recording_id
from bus_contracts.voice_profiles import DEFAULT_PROFILE_ID, get_profile

if TYPE_CHECKING:  # the speech layer loads only for audio sessions
    from speech.recording import StereoRecording

log = logging.getLogger(__name__)


@websocket("/v1/pipes/{pipe_id:str}/connect")
async def client_socket(socket: WebSocket, pipe_id: FromPath[str], node: NodeDep) -> None:
    await _serve(socket, pipe_id, node)


@websocket("/v1/sessions/connect")
async def token_socket(socket: WebSocket, node: NodeDep) -> None:
    await _serve(socket, None, node)


async def _serve(socket: WebSocket, pipe_id: str | None, node) -> None:
    await socket.accept()
    if node.draining:  # before redeeming: the token stays good for another node
        await socket.close(code=1013, reason="this node is shutting down; connect again")
        return
    claims = await node.session_tokens.redeem(socket.query_params.get("token", ""), pipe_id)
    if claims is None:
        await socket.close(code=4003, reason="invalid, used or expired session token")
        return
    pipe_id = claims.pipe_id
    pipe = await node.reads.pipe(claims.project_id, pipe_id)
    if pipe is None:
        await socket.close(code=4004, reason="pipe not found")
        return
    call_id = new_call_id()
    requested = await node.calls.create(
        call_id,
        k.RequestCall(
            project_id=claims.project_id,
            pipe_id=pipe_id,
            session_id=call_id,
            direction="web",
            agent_id=pipe["agent_id"],
            agent_endpoint=pipe["agent_endpoint"],
            voice_profile_id=pipe["voice_profile_id"],
            data=claims.metadata,
            max_duration_s=pipe["max_call_duration_s"],
            node_id=node.node_id,
            first_speaker=pipe["first_speaker"],
            barge_in_min_speech_s=pipe["barge_in_min_speech_s"],
            recording=bool(pipe["recording"]),
        ),
    )
    request = requested.state.request

    async def send_json(frame: dict) -> None:
        await socket.send_json(frame)

    async def caller_spoke(text: str, endpointing_ms: float, stt_ms: float) -> None:
        await session.user_text(text, k.TurnTimings(endpointing_ms=endpointing_ms, stt_ms=stt_ms))

    async def caller_barged_in(heard_prefix: str) -> None:
        await session.barge_in(heard_prefix)

    async def provider_skipped(kind: str, provider: str, reason: str) -> None:
        await session.provider_skipped(kind, provider, reason)  # type: ignore[arg-type]

    profile = get_profile(request.voice_profile_id or DEFAULT_PROFILE_ID) or get_profile(DEFAULT_PROFILE_ID)
    audio = ClientAudio(
        socket.send_bytes, send_json, caller_spoke, caller_barged_in, provider_skipped, profile,
        record=request.recording, barge_in_min_speech_s=request.barge_in_min_speech_s,
    )  # fmt: skip

    async def send(frame: dict) -> None:
        # The pipeline first: a recording is paused before the client can learn it is.
        await audio.relay(frame)
        await socket.send_json(frame)

    async def forget(session: CallSession, _reason: str) -> None:
        node.session_ended(session.call_id)
        with contextlib.suppress(Exception):
            await socket.close(code=1000, reason=_reason)

    session = CallSession(
        call_id,
        request,
        node.calls,
        node.dispatcher,
        send,
        forget,
        endpoint_timeout_s=node.settings.agent_endpoint_timeout_s,
    )
    session.speech = audio  # timings of the speech stages, once audio has started
    node.sessions[call_id] = session
    await send({"type": "session.started", "session_id": call_id, "call_id": call_id})
    session.start()
    try:
        while True:
            event = await socket.receive()
            if event["type"] == "websocket.disconnect":
                break
            if event.get("bytes") is not None:
                try:
                    await audio.feed(event["bytes"], read_at=event.get(READ_AT))
                except AudioRefused as exc:
                    await send_json({"type": "error", "code": "audio_refused", "message": str(exc)})
                continue
            try:
                frame = json.loads(event.get("text") or "")
            except ValueError:
                await send_json({"type": "error", "code": "malformed_frame", "message": "frames are JSON objects"})
                continue
            kind = frame.get("type") if isinstance(frame, dict) else None
            if kind == "user.text" and isinstance(frame.get("text"), str):
                await session.user_text(frame["text"][:10_000])
            elif kind == "audio.start":
                try:
                    await send_json(await audio.start(frame))
                except AudioRefused as exc:
                    await send_json({"type": "error", "code": "audio_refused", "message": str(exc)})
            elif kind == "hangup":
                await session.end("hangup")
                return
            else:
                await send_json(
                    {"type": "error", "code": "unknown_frame", "message": f"unknown or invalid frame {kind!r}"}
                )
    except WebSocketDisconnect:
        pass
    finally:
        await audio.stop()
        await session.end("hangup")
        if audio.recording is not None:
            await _store_recording(node, session, audio.recording)


async def _store_recording(node, session: CallSession, recording: StereoRecording) -> None:
    """Store the call's recording, then put it on the call's record (an object no event
    names is only a leftover; an event naming no object would be a broken promise)."""
    recording_id = new_recording_id()
    try:
        wav = await asyncio.to_thread(recording.finish)
        with wav.file:
            size = await node.recordings.put(recording_id, wav.file)
        await node.calls.execute(
            session.call_id,
            k.AttachRecording(
                project_id=session.project_id,
                recording_id=recording_id,
                duration_s=wav.duration_s,
                size_bytes=size,
                sample_rate=wav.sample_rate,
                channels=wav.channels,
                paused_s=wav.paused_s,
                paused_spans=wav.paused_spans,
            ),
        )
    except Exception:
        log.exception("call %s: its recording %s could not be stored", session.call_id, recording_id)
