"""The live side of one call on the node hosting it: relays text between the
client (door 1) and the runner's bridge (door 3), and records the conversation
as events. Transport-agnostic: both ends are ``send`` coroutines.

Turn flow: a final user text becomes ``UserSpoke`` and ``user.text`` to the
runner; ``agent.text.delta`` chunks stream to the client; ``agent.text.end``
closes the reply as ``AgentReplied``. ``agent.say`` speaks now, except the
published SDK's sentinels (``__filler:``, ``__recording_pause:``,
``__recording_resume``), which are controls and never spoken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

import msgspec

from actors.agent_endpoint import FALLBACK, AgentEndpoint, EndpointFailure
from actors.deciders.call import CallState, unanswered_turns
from actors.dispatch.dispatcher import Dispatcher
from actors.errors import Rejected
from actors.host import ActorHost
from actors.turn_clock import TurnClock
from bus_contracts import calls as k
from bus_contracts import frames as f

log = logging.getLogger(__name__)
ClientSend = Callable[[dict[str, Any]], Awaitable[None]]


class SpeechSide(Protocol):
    async def reply_done(self) -> float: ...


class CallSession:
    def __init__(
        self,
        call_id: str,
        request: k.CallRequested,
        calls: ActorHost[CallState],
        dispatcher: Dispatcher,
        to_client: ClientSend,
        on_end: Callable[[CallSession, str], Awaitable[None]],
        *,
        endpoint_timeout_s: float = 10.0,
    ) -> None:
        self.call_id = call_id
        self.request = request
        self.calls = calls
        self.dispatcher = dispatcher
        self.to_client = to_client
        self.on_end = on_end
        self.worker_id: str | None = None
        self.job_id: str | None = None
        self.runner_node: str | None = None
        self.bridge_send: Callable[[str], Awaitable[None]] | None = None
        self.bridge_close: Callable[[int, str], Awaitable[None]] | None = None
        self.turn = 0
        self.utterance = 0
        self.reply: list[str] = []
        self.clock = TurnClock()
        #: Set by a barge-in on a reply still streaming: what the caller heard of it.
        self._heard_prefix: str | None = None
        #: The last user turn with a reply on record.
        self.replied = 0
        self.pending: list[f.UserText] = []
        self.filler: str | None = None
        self.recording_paused = False
        #: The speech side (door 1 in voice mode): ``reply_done()`` speaks the rest of a
        #: finished reply and gives the TTS's time to first byte for it.
        self.speech: SpeechSide | None = None
        #: The speech side's timings of each user turn not yet answered, by turn.
        self._heard: dict[int, k.TurnTimings] = {}
        self.ended: str | None = None
        self._dispatch: asyncio.Task[None] | None = None
        self._recovery: asyncio.Task[None] | None = None
        self._bridge_up = asyncio.Event()
        self._time_limit: asyncio.TimerHandle | None = None
        #: How long the agent may be silent after a turn before the filler plays.
        self.filler_after_s = 1.0
        self._filler_timer: asyncio.TimerHandle | None = None
        self._fill: asyncio.Task[None] | None = None
        self._time_up: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        #: How long a dropped bridge may take to redial before the runner counts as lost.
        self.redial_grace_s = 1.0
        #: The brain when the pipe names an HTTP endpoint instead of a runner pool.
        self.endpoint = (
            AgentEndpoint(request.agent_endpoint, timeout_s=endpoint_timeout_s) if request.agent_endpoint else None
        )

    @property
    def project_id(self) -> str:
        return self.request.project_id

    # --- lifecycle ---

    def start(self) -> None:
        # The pipe's limit on a call's length, from the moment it was requested.
        limit = self.request.max_duration_s
        self._time_limit = asyncio.get_running_loop().call_later(limit, self._over_time, limit)
        if self.endpoint is not None:  # no runner to place: the endpoint answers every turn
            self._dispatch = asyncio.create_task(self._client({"type": "state", "state": "listening"}))
            return
        self._dispatch = asyncio.create_task(self._place(), name=f"dispatch:{self.call_id}")

    async def _place(self) -> None:
        await self._client({"type": "state", "state": "connecting"})  # all the client ever sees of a failover
        placed = await self.dispatcher.dispatch(self.call_id)
        if placed.ended:
            await self.end(placed.ended, record=False)
            return
        self.worker_id, self.job_id, self.runner_node = placed.worker_id, placed.job_id, placed.node_id

    def _over_time(self, limit: int) -> None:
        self._time_up = asyncio.create_task(self.end("max_duration", detail=f"the pipe allows calls of {limit} s"))

    async def end(self, reason: str, *, record: bool = True, detail: str = "") -> None:
        """End the call once: record it, tell both sides, free the runner's slot."""
        if self.ended is not None:
            return
        self.ended = reason
        if self._time_limit is not None:
            self._time_limit.cancel()
        self._cancel_filler()
        if record:
            with contextlib.suppress(Exception):
                await self.calls.execute(
                    self.call_id, k.EndCall(project_id=self.project_id, reason=reason, detail=detail)
                )
        for task in (self._dispatch, self._recovery):
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()
        await self._client({"type": "session.ended", "reason": reason})
        if self.bridge_close is not None:
            with contextlib.suppress(Exception):
                await self.bridge_close(1000, reason)
        if self.endpoint is not None:
            await self.endpoint.aclose()
        if self.worker_id and self.job_id and self.runner_node:  # the runner's slot is free again
            with contextlib.suppress(Exception):
                await self.dispatcher.offers.finish(self.runner_node, self.worker_id, self.job_id)
        await self.on_end(self, reason)

    # --- client side (door 1) ---

    async def user_text(self, text: str, heard: k.TurnTimings | None = None) -> None:
        """A caller's turn; ``heard``: what the speech side measured of it (endpointing, STT)."""
        text = text.strip()
        if not text or self.ended:
            return
        async with self._lock:
            self.turn += 1
            turn = self.turn
            if heard is not None:
                self._heard[turn] = heard
            # The turn's place in the log is fixed now, so the agent gets the text
            # while it is appended: the caller waits for the agent, not for the log.
            # The caller hears of its turn first, so it never sees a reply before it.
            recorded = self.calls.submit(
                self.call_id, k.RecordUserTurn(project_id=self.project_id, turn=turn, text=text)
            )
            await self._client({"type": "user.turn", "turn": turn, "text": text})
            if self.endpoint is None:
                await self._turn_to_runner(f.UserText(text=text, is_final=True, turn_id=turn))
            await recorded
        if self.endpoint is not None:
            await self._ask_endpoint(turn, text)

    async def _turn_to_runner(self, frame: f.UserText) -> None:
        if self.bridge_send is None:
            self.pending.append(frame)  # delivered when the runner's bridge connects
            return
        self.clock.sent(frame.turn_id)
        await self._bridge(frame)
        if self.filler and self._filler_timer is None:
            self._filler_timer = asyncio.get_running_loop().call_later(
                self.filler_after_s, self._agent_is_slow, frame.turn_id
            )

    def _agent_is_slow(self, turn: int) -> None:
        """No word from the agent a while after the caller's turn: play the filler."""
        self._filler_timer = None
        if self.filler and self.clock.current == turn and not self.reply and not self.ended:
            self._fill = asyncio.create_task(self._client({"type": "agent.filler", "turn": turn, "text": self.filler}))

    async def provider_skipped(self, kind: Literal["stt", "tts"], provider: str, reason: str) -> None:
        """A speech provider could not start, or failed mid-call; the next in the profile's
        order serves (``reason`` says which)."""
        if self.ended:  # a provider's connection closing as the call ends is no failover
            return
        await self.calls.execute(
            self.call_id, k.RecordProviderSkip(project_id=self.project_id, kind=kind, provider=provider, reason=reason)
        )
        await self._client({"type": "error", "severity": "warn", "source": kind, "code": "provider_failover",
                            "message": f"{provider}: {reason}"})  # fmt: skip

    async def barge_in(self, heard_prefix: str) -> None:
        """The caller talked over the agent (the speech layer has stopped the audio):
        the runner stops its reply; the reply goes on record as interrupted, with
        what the caller heard of it."""
        if self.ended:
            return
        turn = self.clock.current
        if turn is not None:  # the reply is still streaming: its end records the cut
            self._heard_prefix = heard_prefix
        elif self.replied > 0:  # its text had ended, its audio had not
            with contextlib.suppress(Rejected):
                await self.calls.execute(
                    self.call_id,
                    k.RecordInterruption(project_id=self.project_id, turn=self.replied, heard_prefix=heard_prefix),
                )
        frame = f.UserInterrupted(turn_id=turn if turn is not None else self.turn, heard_prefix=heard_prefix)
        await self._bridge(frame)
        await self._client({"type": "user.interrupted", "turn": frame.turn_id, "heard_prefix": heard_prefix})

    async def _ask_endpoint(self, turn: int, text: str) -> None:
        assert self.endpoint is not None
        context = {
            "call_id": self.call_id,
            "session_id": self.request.session_id,
            "turn_number": turn,
            "direction": self.request.direction,
            "user_number": self.request.user_number or "",
            "data": self.request.data,
        }
        await self._client({"type": "state", "state": "thinking"})
        started = time.monotonic()  # endpoint turns may overlap: each keeps its own clock
        try:
            reply = await self.endpoint.turn(text, context)
        except EndpointFailure as exc:
            self._heard.pop(turn, None)
            log.warning("agent endpoint failed on %s turn %d: %s", self.call_id, turn, exc.message)
            await self.calls.execute(
                self.call_id,
                k.RecordAgentFailure(
                    project_id=self.project_id, turn=turn, code=exc.code, message=exc.message, fallback=FALLBACK
                ),
            )
            await self._client({"type": "error", "code": exc.code, "message": exc.message})
            await self._client({"type": "agent.reply", "turn": turn, "text": FALLBACK, "fallback": True})
            return
        took = round(1000 * (time.monotonic() - started), 3)  # one answer: first token = whole reply
        spoken = self._heard.pop(turn, k.TurnTimings())
        timings = msgspec.structs.replace(spoken, agent_ttft_ms=took, agent_total_ms=took)
        await self.calls.execute(
            self.call_id, k.RecordAgentReply(project_id=self.project_id, turn=turn, text=reply, timings=timings)
        )
        await self._client({"type": "agent.reply", "turn": turn, "text": reply, "timings": _timings(timings)})

    # --- runner side (door 3) ---

    async def bridge_connected(
        self, send: Callable[[str], Awaitable[None]], close: Callable[[int, str], Awaitable[None]]
    ) -> None:
        async with self._lock:  # turns waiting for this runner go first, in order
            self.bridge_send, self.bridge_close = send, close
            self._bridge_up.set()
            await self._client({"type": "state", "state": "listening"})
            pending, self.pending = self.pending, []
            for frame in pending:
                await self._turn_to_runner(frame)

    async def bridge_closed(self, code: int | None, send: Callable[[str], Awaitable[None]]) -> None:
        """The runner's bridge went away. A clean close (1000) is the agent ending the
        session; anything else (a crash: no close frame) may be followed by a redial,
        else the runner is lost and the call moves to another one. A bridge the call
        already let go (handed over) changes nothing."""
        if send != self.bridge_send:
            return
        self.bridge_send = self.bridge_close = None
        self._bridge_up.clear()
        if self.ended:
            return
        if code == 1000:
            await self.end("completed", detail="the agent closed the session")
            return
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover(), name=f"recover:{self.call_id}")

    async def _recover(self) -> None:
        try:
            await asyncio.wait_for(self._bridge_up.wait(), self.redial_grace_s)
            return  # the same runner came back
        except TimeoutError:
            pass
        if self.ended or self.worker_id is None:
            return
        lost, job, node = self.worker_id, self.job_id, self.runner_node
        log.warning("call %s lost its runner %s; dispatching again", self.call_id, lost)
        await self.calls.execute(
            self.call_id, k.LoseRunner(project_id=self.project_id, worker_id=lost, reason="bridge_lost")
        )
        if job and node:
            with contextlib.suppress(Exception):
                await self.dispatcher.offers.finish(node, lost, job)
        self.worker_id = self.job_id = self.runner_node = None
        await self._requeue_unanswered()
        await self._place()

    async def _requeue_unanswered(self) -> None:
        """Turns the last runner never answered go to the next one as turns (and are
        left out of the history it gets), so the caller still gets answers."""
        self.reply = []  # a reply cut off mid-stream is not kept
        self.clock.forget()
        try:
            state = (await self.calls.view(self.call_id)).state
        except Exception:  # the log is unreachable: the next runner gets what is pending
            log.exception("call %s: could not read its unanswered turns", self.call_id)
            return
        self.pending = [
            f.UserText(text=line.text, is_final=True, turn_id=line.turn) for line in unanswered_turns(state)
        ] + [p for p in self.pending if p.turn_id > state.turns]

    async def verb(self, frame: Any) -> None:
        if self.ended:  # what a runner sends after the end (a second end_call, late deltas) changes nothing
            return
        match frame:
            case f.AgentTextDelta(text=text):
                self._cancel_filler()
                self.clock.delta()
                self.reply.append(text)
                turn = self.clock.current
                await self._client({"type": "agent.delta", "turn": self.turn if turn is None else turn, "text": text})
            case f.AgentTextEnd():
                await self._reply_ended()
            case f.AgentSay(text=text):
                await self._say(text)
            case f.AgentEndCall(reason=reason):
                await self.calls.execute(
                    self.call_id, k.RequestEnd(project_id=self.project_id, reason=reason, by="agent")
                )
                await self.end("completed", detail=reason)
            case f.AgentTransfer():
                await self._transfer(frame)
            case f.AgentDispatch(agent_id=agent_id, metadata=metadata):
                await self._hand_over(agent_id, metadata, via="dispatch")
            case _:
                # Conference verbs (participants, merge) are not negotiated in hello.ack.
                log.warning("call %s: the runner sent %s, which this node does not offer", self.call_id, type(frame))

    async def _transfer(self, frame: f.AgentTransfer) -> None:
        await self.calls.execute(
            self.call_id,
            k.RequestTransfer(
                project_id=self.project_id,
                transfer_type=frame.transfer_type,
                target=frame.target,
                mode=frame.mode,
                announcement=frame.announcement,
            ),
        )
        if frame.transfer_type != "agent":
            # A number or a human queue needs a phone leg to bridge, which no call has yet.
            # The request stays on record; no ``error`` frame, because the published SDK
            # ends its session on any, and the caller would be hung up on.
            log.warning("call %s: a transfer to a %s needs a phone leg; the call goes on", self.call_id,
                        frame.transfer_type)  # fmt: skip
            return
        await self._hand_over(frame.target, {}, via="transfer", announcement=frame.announcement)

    async def _hand_over(
        self,
        agent_id: str,
        metadata: dict[str, Any],
        *,
        via: Literal["transfer", "dispatch"],
        announcement: str | None = None,
    ) -> None:
        """A cold hand-over: this runner's session ends now, and the call, with its history
        and its unanswered turns, goes to the least-loaded runner of ``agent_id``'s pool."""
        if self.worker_id is None or self.endpoint is not None:
            return
        try:
            await self.calls.execute(
                self.call_id,
                k.HandOver(
                    project_id=self.project_id, worker_id=self.worker_id, agent_id=agent_id, via=via, metadata=metadata
                ),
            )
        except Rejected as exc:  # logged, not an error frame (see _transfer)
            log.warning("call %s: hand-over to %r refused: %s", self.call_id, agent_id, exc)
            return
        worker, job, node, close = self.worker_id, self.job_id, self.runner_node, self.bridge_close
        self.worker_id = self.job_id = self.runner_node = None
        self.bridge_send = self.bridge_close = None  # its close is not the call's end
        self._bridge_up.clear()
        if close is not None:
            await close(1000, "transferred")
        if worker and job and node:
            with contextlib.suppress(Exception):
                await self.dispatcher.offers.finish(node, worker, job)
        await self._requeue_unanswered()  # before the announcement, which answers no turn
        if announcement:
            await self._say(announcement)
        await self._client({"type": "transfer", "transfer_type": "agent", "target": agent_id})
        self._dispatch = asyncio.create_task(self._place(), name=f"dispatch:{self.call_id}")

    def _cancel_filler(self) -> None:
        if self._filler_timer is not None:
            self._filler_timer.cancel()
            self._filler_timer = None

    async def _reply_ended(self) -> None:
        self._cancel_filler()
        text, self.reply = "".join(self.reply), []
        timed = self.clock.end(self.replied)
        turn = timed.turn if timed.turn is not None else self.turn
        heard, self._heard_prefix = self._heard_prefix, None
        timings = timed.timings
        if timed.turn is not None:  # the speech stages of the turn this reply answers
            spoken = self._heard.pop(turn, k.TurnTimings())
            tts_ms = await self.speech.reply_done() if self.speech is not None else 0.0
            timings = msgspec.structs.replace(
                timings, endpointing_ms=spoken.endpointing_ms, stt_ms=spoken.stt_ms, tts_ttfb_ms=tts_ms
            )
        if turn > 0:
            await self.calls.execute(
                self.call_id,
                k.RecordAgentReply(
                    project_id=self.project_id,
                    turn=turn,
                    text=text,
                    interrupted=heard is not None,
                    heard_prefix=heard,
                    timings=timings,
                ),
            )
            self.replied = max(self.replied, turn)
        await self._client({"type": "agent.reply", "turn": turn, "text": text, "timings": _timings(timings)})
        if timed.turn is not None:
            await self._send_metrics(turn, timings)

    async def _send_metrics(self, turn: int, t: k.TurnTimings) -> None:
        """What the runner learns of each turn: its stage timings, then the call so far.
        Stages that did not run (speech, on the text path) are sent as null."""
        await self._bridge(
            f.TurnMetrics(
                call_id=self.call_id,
                turn_id=turn,
                ttfa_ms=t.agent_ttft_ms,
                asr_ms=t.stt_ms or None,
                tts_ttfb_ms=t.tts_ttfb_ms or None,
                llm_ttft_ms=t.agent_ttft_ms,
                llm_call_count=1,
                llm_total_ms=t.agent_total_ms,
            )
        )
        await self._bridge(f.Metric(ttfa_ms=round(t.agent_ttft_ms), turns=self.turn, cost_usd_so_far=0.0))

    async def _say(self, text: str) -> None:
        if text.startswith(f.FILLER_PREFIX):
            self.filler = text[len(f.FILLER_PREFIX) :]
            return
        if text.startswith(f.RECORDING_PAUSE_PREFIX) or text == f.RECORDING_RESUME:
            await self._set_recording_paused(text != f.RECORDING_RESUME)
            return
        if self.request.first_speaker == "user" and self.turn == 0:
            log.debug("call %s: the caller speaks first; the agent's opening is not said", self.call_id)
            return
        self.utterance += 1
        await self.calls.execute(
            self.call_id, k.RecordAgentSaid(project_id=self.project_id, utterance=self.utterance, text=text)
        )
        await self._client({"type": "agent.say", "text": text})

    async def _set_recording_paused(self, paused: bool) -> None:
        """The agent paused (say, for a card number) or resumed the call's recording.
        The client's side hears of it: the door's recorder and the client itself."""
        if paused == self.recording_paused:
            return
        self.recording_paused = paused
        if self.request.recording:
            await self._client({"type": "recording.paused" if paused else "recording.resumed"})

    # --- sending ---

    async def _client(self, frame: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # a gone client must not break the runner side
            await self.to_client(frame)

    async def _bridge(self, frame: Any) -> None:
        if self.bridge_send is not None:
            try:
                await self.bridge_send(f.encode(frame))
            except Exception:
                log.info("bridge of %s went away while sending", self.call_id)


def _timings(t: k.TurnTimings) -> dict[str, float]:
    """A reply's timings for the client: the agent's, and the speech stages that ran."""
    timings = {"agent_ttft_ms": t.agent_ttft_ms, "agent_total_ms": t.agent_total_ms}
    for stage in ("endpointing_ms", "stt_ms", "tts_ttfb_ms"):
        if value := getattr(t, stage):
            timings[stage] = value
    return timings
