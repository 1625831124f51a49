"""The management plane's use cases, on top of the aggregate actors.

Single-aggregate commands go straight to their actor. Operations that span two
aggregates are ordered so that the decider that can refuse goes first, with a
compensating command if the second step is refused:

* attach: the number (refuses when taken) then the pipe link (refuses when the
  pipe was deleted meanwhile -> the number is detached again);
* detach: the number, then the pipe unlink;
* trunk sync / delete: each number through its own actor, then the trunk.

Every method returns the stream sequence the caller must see in the read model
(read-your-writes).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from actors.deciders import access, number, pipe, trunk
from actors.errors import Conflict, Invalid, NotFound
from actors.event_store import EventStore
from actors.host import ActorHost, Outcome
from actors.secrets import SecretStore
from bus_contracts import commands as c
from bus_contracts.events import NumberDetached, PipeConfig, ProviderTrunkConfig, SipTrunkConfig, TrunkType
from bus_contracts.ids import new_key_id, new_pipe_id, new_project_id, new_trunk_id, number_id_for

KEY_PREFIX = "sk-"


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def key_id_of(token: str) -> str | None:
    """``sk-<16 hex key id><secret>`` -> ``key_<16 hex>``; None if malformed."""
    if not token.startswith(KEY_PREFIX) or len(token) < len(KEY_PREFIX) + 16 + 20:
        return None
    hex_id = token[len(KEY_PREFIX) : len(KEY_PREFIX) + 16]
    if any(ch not in "0123456789abcdef" for ch in hex_id):
        return None
    return f"key_{hex_id}"


@dataclass(frozen=True)
class Written:
    id: str
    seq: int
    extra: dict[str, Any] = field(default_factory=dict)


class Management:
    def __init__(self, store: EventStore, secrets_store: SecretStore, *, idle_timeout: float = 60.0) -> None:
        self.store = store
        self.secrets = secrets_store
        self.pipes = ActorHost(store, pipe.DECIDER, idle_timeout=idle_timeout)
        self.numbers = ActorHost(store, number.DECIDER, idle_timeout=idle_timeout)
        self.trunks = ActorHost(store, trunk.DECIDER, idle_timeout=idle_timeout)
        self.projects = ActorHost(store, access.PROJECT_DECIDER, idle_timeout=idle_timeout)
        self.keys = ActorHost(store, access.KEY_DECIDER, idle_timeout=idle_timeout)

    async def stop(self) -> None:
        for host in (self.pipes, self.numbers, self.trunks, self.projects, self.keys):
            await host.stop()

    # --- projects and keys ---

    async def create_project(self, name: str, project_id: str | None = None, trace: dict | None = None) -> Written:
        project_id = project_id or new_project_id()
        out = await self.projects.execute(project_id, c.CreateProject(project_id=project_id, name=name), trace=trace)
        return Written(project_id, out.version)

    async def issue_api_key(self, project_id: str, name: str, trace: dict | None = None) -> Written:
        """Returns the token once, in ``extra["token"]``; only its hash is stored."""
        key_id = new_key_id()
        token = f"{KEY_PREFIX}{key_id[4:]}{secrets.token_urlsafe(32)}"
        cmd = c.IssueApiKey(project_id=project_id, name=name, key_hash=hash_key(token), prefix=token[:11])
        out = await self.keys.execute(key_id, cmd, trace=trace)
        return Written(key_id, out.version, {"token": token})

    async def revoke_api_key(self, project_id: str, key_id: str, trace: dict | None = None) -> Written:
        out = await self.keys.execute(key_id, c.RevokeApiKey(project_id=project_id), trace=trace)
        return Written(key_id, out.version)

    # --- pipes ---

    async def create_pipe(self, project_id: str, config: PipeConfig, trace: dict | None = None) -> Written:
        pipe_id = new_pipe_id()
        out = await self.pipes.execute(pipe_id, c.CreatePipe(project_id=project_id, config=config), trace=trace)
        return Written(pipe_id, out.version)

    async def update_pipe(
        self, project_id: str, pipe_id: str, changes: dict[str, Any], trace: dict | None = None
    ) -> Written:
        out = await self.pipes.execute(pipe_id, c.UpdatePipe(project_id=project_id, **changes), trace=trace)
        return Written(pipe_id, out.version)

    async def delete_pipe(
        self, project_id: str, pipe_id: str, *, attached_hint: tuple[str, ...] = (), trace: dict | None = None
    ) -> Written:
        """Delete a pipe; refused while numbers are attached.

        The pipe's list of linked numbers is kept by a second step after each
        attach/detach, so a crash or race between the steps can leave it wrong
        in either direction. Before deciding, reconcile it with the numbers
        themselves (the source of truth for routing): unlink numbers that are no
        longer attached to this pipe, and link those that are but were never
        recorded (``attached_hint``: numbers a read model says point here).
        """
        current = (await self.pipes.read(pipe_id)).state
        if current.exists and not current.deleted and current.project_id == project_id:
            for number_id in dict.fromkeys((*current.numbers, *attached_hint)):
                n = (await self.numbers.read(number_id)).state
                really = n.live and n.project_id == project_id and n.pipe_id == pipe_id
                if really and number_id not in current.numbers:
                    await self.pipes.execute(
                        pipe_id, c.LinkNumber(project_id=project_id, number_id=number_id), trace=trace
                    )
                elif not really and number_id in current.numbers:
                    await self.pipes.execute(
                        pipe_id, c.UnlinkNumber(project_id=project_id, number_id=number_id), trace=trace
                    )
        out = await self.pipes.execute(pipe_id, c.DeletePipe(project_id=project_id), trace=trace)
        return Written(pipe_id, out.version)

    # --- numbers ---

    async def add_number(
        self,
        project_id: str,
        e164: str,
        *,
        trunk_id: str | None = None,
        country: str | None = None,
        capabilities: tuple[str, ...] = ("voice",),
        source: str = "byon",
        trace: dict | None = None,
    ) -> Written:
        if trunk_id is not None:
            try:
                await self._live_trunk(project_id, trunk_id)
            except NotFound:
                raise Invalid(f"trunk {trunk_id} not found in this project") from None
        number_id = number_id_for(e164)
        cmd = c.AddNumber(
            project_id=project_id,
            number=e164,
            source=source,
            trunk_id=trunk_id,
            country=country,
            capabilities=capabilities,
        )
        out = await self.numbers.execute(number_id, cmd, trace=trace)
        seq = out.version
        if trunk_id is not None:
            try:
                linked = await self.trunks.execute(
                    trunk_id, c.RecordTrunkNumbers(project_id=project_id, number_ids=(number_id,)), trace=trace
                )
            except NotFound:  # the trunk was deleted meanwhile: do not leave its number behind
                if out.changed:
                    await self.numbers.execute(number_id, c.ReleaseNumber(project_id=project_id), trace=trace)
                raise Invalid(f"trunk {trunk_id} not found in this project") from None
            seq = max(seq, linked.version)
        return Written(number_id, seq, {"new": out.changed})

    async def attach_number(self, project_id: str, number_id: str, pipe_id: str, trace: dict | None = None) -> Written:
        """404 for an unknown number (the resource addressed); 422 for an unknown pipe (a reference in the body)."""
        current = (await self.numbers.read(number_id)).state
        if not current.live or current.project_id != project_id:
            raise NotFound("number not found")
        try:
            target = (await self.pipes.read(pipe_id)).state
        except NotFound:  # not even a possible id
            raise Invalid(f"pipe {pipe_id} not found in this project") from None
        if not target.exists or target.deleted or target.project_id != project_id:
            raise Invalid(f"pipe {pipe_id} not found in this project")
        attached = await self.numbers.execute(
            number_id, c.AttachNumber(project_id=project_id, pipe_id=pipe_id), trace=trace
        )
        try:
            linked = await self.pipes.execute(
                pipe_id, c.LinkNumber(project_id=project_id, number_id=number_id), trace=trace
            )
        except NotFound:  # the pipe was deleted between the two steps: undo the first
            await self.numbers.execute(number_id, c.DetachNumber(project_id=project_id), trace=trace)
            raise Invalid(f"pipe {pipe_id} not found in this project") from None
        return Written(number_id, max(attached.version, linked.version))

    async def detach_number(self, project_id: str, number_id: str, trace: dict | None = None) -> Written:
        out = await self.numbers.execute(number_id, c.DetachNumber(project_id=project_id), trace=trace)
        seq = out.version
        # Unlink the pipe this detach took the number from (named by its own event,
        # not by an earlier read that a concurrent attach may have made stale).
        for event in out.events:
            if isinstance(event, NumberDetached):
                try:
                    unlinked = await self.pipes.execute(
                        event.pipe_id, c.UnlinkNumber(project_id=project_id, number_id=number_id), trace=trace
                    )
                    seq = max(seq, unlinked.version)
                except NotFound:
                    pass  # the pipe is gone; nothing routes through it
        return Written(number_id, seq)

    async def release_number(self, project_id: str, number_id: str, trace: dict | None = None) -> Written:
        out = await self.numbers.execute(number_id, c.ReleaseNumber(project_id=project_id), trace=trace)
        return Written(number_id, out.version)

    # --- trunks ---

    async def _live_trunk(self, project_id: str, trunk_id: str) -> Outcome[trunk.TrunkState]:
        out = await self.trunks.read(trunk_id)
        s = out.state
        if not s.exists or s.deleted or s.project_id != project_id:
            raise NotFound("trunk not found")
        return out

    async def register_trunk(
        self,
        project_id: str,
        *,
        name: str,
        type: TrunkType,
        sip: SipTrunkConfig | None,
        provider: ProviderTrunkConfig | None,
        numbers: tuple[str, ...],
        sip_password: str | None = None,
        api_token: str | None = None,
        trace: dict | None = None,
    ) -> Written:
        trunk_id = new_trunk_id()
        cmd = c.RegisterTrunk(project_id=project_id, name=name, type=type, sip=sip, provider=provider, numbers=numbers)
        # Validate before any secret is written.
        trunk.decide(cmd, trunk.initial())
        if sip_password:
            await self.secrets.put(f"trunk.{trunk_id}.sip_password", sip_password)
        if api_token:
            await self.secrets.put(f"trunk.{trunk_id}.api_token", api_token)
        out = await self.trunks.execute(trunk_id, cmd, trace=trace)
        return Written(trunk_id, out.version)

    async def sync_trunk(self, project_id: str, trunk_id: str, trace: dict | None = None) -> Written:
        """Add every number the trunk carries that is not here yet."""
        reg = (await self._live_trunk(project_id, trunk_id)).state.registration
        assert reg is not None
        new, synced, skipped, seq = 0, 0, [], 0
        for e164 in reg.numbers:
            try:
                written = await self.add_number(project_id, e164, trunk_id=trunk_id, source="trunk", trace=trace)
            except Conflict:
                skipped.append(e164)  # registered elsewhere (another trunk, another project)
                continue
            synced += 1
            new += int(written.extra["new"])
            seq = max(seq, written.seq)
        return Written(trunk_id, seq, {"synced": synced, "new": new, "skipped": skipped})

    async def delete_trunk(self, project_id: str, trunk_id: str, trace: dict | None = None) -> Written:
        state = (await self._live_trunk(project_id, trunk_id)).state
        owned = []
        for number_id in state.number_ids:
            n = (await self.numbers.read(number_id)).state
            if n.live and n.project_id == project_id and n.trunk_id == trunk_id:
                owned.append((number_id, n))
        attached = [f"{n.number} (pipe {n.pipe_id})" for _, n in owned if n.pipe_id]
        if attached:
            raise Conflict(f"trunk carries numbers attached to pipes: {', '.join(attached)}; detach them first")
        seq = 0
        for number_id, _ in owned:
            seq = max(seq, (await self.release_number(project_id, number_id, trace=trace)).seq)
        out = await self.trunks.execute(trunk_id, c.DeleteTrunk(project_id=project_id), trace=trace)
        for name in ("sip_password", "api_token"):
            await self.secrets.delete(f"trunk.{trunk_id}.{name}")
        return Written(trunk_id, max(seq, out.version))
