"""A node: the one owner of the process's connections and background tasks.

Start order: NATS -> event store -> secrets and recordings -> projector -> read
model -> management actors. Stop runs the reverse, every step bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec
import nats
import nats.errors
from nats.aio.client import Client as NATS

from actors.deciders import call, runner
from actors.dispatch.dispatcher import Dispatcher
from actors.dispatch.load_board import LoadBoard
from actors.dispatch.offers import NodeOffers
from actors.dispatch.registry import LocalRunners
from actors.event_store import EventStore
from actors.host import ActorHost
from actors.management import Management
from actors.recording_store import RecordingStore
from actors.secrets import SecretStore
from actors.session_tokens import SessionTokens
from actors.tokens import BridgeTokens
from api.settings import Settings
from bus_contracts import frames as f
from bus_contracts.calls import EndCall
from projections.projector import Projector
from projections.read_model import ReadModel

log = logging.getLogger(__name__)


async def _log_nats_error(exc: Exception) -> None:
    log.warning("nats: %s", exc or type(exc).__name__)


async def _log_reconnect() -> None:
    log.info("nats: reconnected")


class Node:
    def __init__(self, settings: Settings, nats_url: str) -> None:
        self.settings = settings
        self.nats_url = nats_url
        self.nc: NATS | None = None
        self.store: EventStore | None = None
        self.management: Management | None = None
        self.projector: Projector | None = None
        self.recordings: RecordingStore | None = None
        self.reads: ReadModel | None = None
        self.node_id = settings.node_id
        self.runners: ActorHost | None = None
        self.calls: ActorHost | None = None
        self.board: LoadBoard | None = None
        self.local_runners: LocalRunners | None = None
        self.offers: NodeOffers | None = None
        self.dispatcher: Dispatcher | None = None
        self.tokens = BridgeTokens()
        self.session_tokens: SessionTokens | None = None
        #: Live calls hosted here: call_id -> CallSession.
        self.sessions: dict = {}
        self._sessions_changed = asyncio.Event()
        #: Where clients and runners reach this node; the server sets it once bound.
        self.public_url = settings.base_url
        self._stopping = False
        self._warming: asyncio.Task[None] | None = None
        #: Set while draining: doors refuse new sessions, live calls finish.
        self.draining = False
        #: (project_id, pipe_id) of the pipe ``/demo`` talks to, when ``unpod up --demo`` runs one.
        self.demo_pipe: tuple[str, str] | None = None

    async def _on_disconnect(self) -> None:
        if not self._stopping:
            log.warning("nats: disconnected; reconnecting")

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()  # never leave half a node running (threads, tasks, sockets)
            raise

    async def _start(self) -> None:
        self.nc = await nats.connect(
            self.nats_url.split(","),
            name="unpod-node",
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            error_cb=_log_nats_error,
            disconnected_cb=self._on_disconnect,
            reconnected_cb=_log_reconnect,
        )
        # Offline speech models load in a thread meanwhile: not on the first call.
        self._warming = asyncio.create_task(asyncio.to_thread(_warm_speech), name="speech-warm-up")
        self.store = EventStore(self.nc, self.settings.stream)
        await self.store.start()
        secrets = SecretStore(self.nc.jetstream(), replicas=self.settings.stream.replicas)
        await secrets.start()
        self.recordings = RecordingStore(self.nc.jetstream(), replicas=self.settings.stream.replicas)
        await self.recordings.start()
        self.projector = Projector(self.store, self.settings.read_model_path)
        await self.projector.start()
        self.reads = ReadModel(self.settings.read_model_path)
        await self.reads.start()
        self.management = Management(self.store, secrets)
        self.runners = ActorHost(self.store, runner.DECIDER)
        self.calls = ActorHost(self.store, call.DECIDER)
        self.board = LoadBoard(self.nc.jetstream(), replicas=self.settings.stream.replicas)
        await self.board.start()
        self.local_runners = LocalRunners(self.node_id, self.board)
        self.offers = NodeOffers(self.nc, self.node_id, self.local_runners)
        await self.offers.start()
        self.session_tokens = SessionTokens(self.nc.jetstream(), replicas=self.settings.stream.replicas)
        await self.session_tokens.start()
        await self.nc.subscribe(f"unpod.node.{self.node_id}.calls", cb=self._serve_calls)
        self.dispatcher = Dispatcher(
            self.calls,
            self.board,
            self.offers,
            bridge_url=lambda call_id: f"{self.ws_url}/v1/bridge/{call_id}",
            call_token=self.tokens.issue,
            deadline_ms=self.settings.dispatch_deadline_ms,
            queue_timeout_s=self.settings.queue_timeout_s,
        )
        # Queue depth per pool, summed over nodes, pushed to runners that asked for it.
        self._queued_by_node: dict[tuple[str, str], dict[str, int]] = {}
        self.dispatcher.on_queue_change = self._publish_queue
        await self.nc.subscribe("unpod.pool.queued", cb=self._on_pool_queued)

    async def warmed(self) -> None:
        """Return once the offline speech models are loaded (or failed to load)."""
        if self._warming is not None:
            await asyncio.shield(self._warming)

    async def stop(self) -> None:
        self._stopping = True
        steps = [
            self.local_runners.stop() if self.local_runners else None,
            self.offers.stop() if self.offers else None,
            self.board.stop() if self.board else None,
            self.runners.stop() if self.runners else None,
            self.calls.stop() if self.calls else None,
            self.management.stop() if self.management else None,
            self.reads.stop() if self.reads else None,
            self.projector.stop() if self.projector else None,
            self.store.stop() if self.store else None,
        ]
        steps.append(asyncio.shield(self._warming) if self._warming else None)  # a thread: it cannot be cut short
        for step in steps:
            if step is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(step, 5)
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.drain(), 5)

    async def drain(self, timeout_s: float = 30.0) -> int:
        """Take no new sessions, let live calls finish (bounded); end the rest as
        ``node_shutdown``. Returns how many had to be cut off."""
        self.draining = True
        async with asyncio.timeout(timeout_s + 5):
            deadline = asyncio.get_running_loop().time() + timeout_s
            while self.sessions and asyncio.get_running_loop().time() < deadline:
                self._sessions_changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sessions_changed.wait(), deadline - asyncio.get_running_loop().time())
            remaining = list(self.sessions.values())
            for session in remaining:
                await session.end("node_shutdown")
        return len(remaining)

    def session_ended(self, call_id: str) -> None:
        self.sessions.pop(call_id, None)
        self._sessions_changed.set()

    async def hangup(self, call_id: str, reason: str = "operator") -> None:
        """End a live call wherever it is hosted (this node, or another over NATS)."""
        session = self.sessions.get(call_id)
        if session is not None:
            await session.end(reason)
            return
        state = (await self.calls.read(call_id)).state
        if state.request is None or state.phase == "ended":
            return
        host = state.request.node_id
        if host and host != self.node_id:
            try:
                await self.nc.request(
                    f"unpod.node.{host}.calls",
                    msgspec.json.encode({"op": "hangup", "call_id": call_id, "reason": reason}),
                    timeout=3,
                )
                return
            except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
                pass  # its node is gone: record the end here
        await self.calls.execute(call_id, EndCall(project_id=state.request.project_id, reason=reason))

    def _publish_queue(self, project_id: str, agent_id: str, count: int) -> None:
        body = msgspec.json.encode(
            {"node_id": self.node_id, "project_id": project_id, "agent_id": agent_id, "queued": count}
        )
        asyncio.get_running_loop().create_task(self.nc.publish("unpod.pool.queued", body))

    async def _on_pool_queued(self, msg) -> None:
        body = msgspec.json.decode(msg.data)
        pool = (body["project_id"], body["agent_id"])
        self._queued_by_node.setdefault(pool, {})[body["node_id"]] = int(body["queued"])
        total = sum(self._queued_by_node[pool].values())
        frame = f.encode(f.PoolStatus(agent_id=pool[1], queued=total))
        for link in list(self.local_runners.links.values()):
            s = link.slots
            if "pool.status" in link.features and (s.project_id, s.agent_id) == pool:
                with contextlib.suppress(Exception):
                    await link.send(frame)

    async def _serve_calls(self, msg) -> None:
        try:
            body = msgspec.json.decode(msg.data)
            session = self.sessions.get(body.get("call_id", ""))
            if session is not None and body.get("op") == "hangup":
                await session.end(body.get("reason") or "operator")
        finally:
            await msg.respond(b"{}")

    @property
    def ws_url(self) -> str:
        url = self.public_url
        return "wss://" + url[8:] if url.startswith("https://") else "ws://" + url.removeprefix("http://")

    async def caught_up(self, seq: int) -> None:
        """Return once this node's read model shows the change that ended at ``seq`` (read-your-writes)."""
        assert self.projector is not None
        await self.projector.wait_for(seq, self.settings.read_your_writes_timeout_s)

    async def readiness(self) -> dict[str, object]:
        """Ready when NATS is connected and the read model has caught up with the log."""
        connected = bool(self.nc and self.nc.is_connected)
        last = None
        if connected and self.store is not None:
            with contextlib.suppress(Exception):
                last = await asyncio.wait_for(self.store.last_seq(), 1.0)
        position = self.projector.position if self.projector else 0
        caught_up = last is not None and position >= last
        return {
            "ready": connected and caught_up,
            "nats_connected": connected,
            "projection_position": position,
            "stream_last_seq": last,
        }


def _warm_speech() -> None:
    try:
        from speech.warm import warm_up

        warm_up()
    except Exception:  # a node without speech still serves text sessions
        log.exception("speech models failed to load; voice sessions will say why")
