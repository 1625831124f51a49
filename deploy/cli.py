"""The ``unpod`` command.

``unpod up`` runs a whole single-node stack: an embedded nats-server (unless
``UNPOD_NATS_URL`` names an external NATS), the event projector and the API.
On first start it creates a project and an API key, prints the key once and
stores it (mode 0600) in the data folder. Ctrl-C / SIGTERM stops everything in
order; restarting keeps all data.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import re
import secrets
import signal
import sys
from pathlib import Path

log = logging.getLogger("unpod")


def _server_imports():
    try:
        from api.bootstrap import create_project_with_key
        from api.node import Node
        from api.server import ApiServer
        from api.settings import Settings
        from deploy.embedded_nats import EmbeddedNats
    except ImportError as exc:  # the SDK-only install has no server dependencies
        sys.exit(f"unpod up needs the server extra: pip install 'unpod-stack[server]' ({exc})")
    return Settings, Node, ApiServer, EmbeddedNats, create_project_with_key


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def _write_credentials(path: Path, data: dict[str, str]) -> None:
    _write_private(path, json.dumps(data, indent=2))


def _embedded_nats(EmbeddedNats, settings):
    """The embedded server, with a token only this data folder's owner can read:
    whoever can write to the event stream could mint API keys."""
    nats_dir = settings.data_dir / "nats"
    nats_dir.mkdir(parents=True, exist_ok=True)
    token_file = nats_dir / "token"
    if not token_file.exists():
        _write_private(token_file, secrets.token_urlsafe(32))
    return EmbeddedNats(nats_dir, sync_interval=settings.nats_sync, token=token_file.read_text().strip())


async def _ensure_credentials(node, create_project_with_key, path: Path) -> tuple[dict[str, str], bool]:
    """The stored key if it still works, else a new project and key (printed once).

    The read model is caught up first: after a rebuild or on a fresh node it may
    not know the stored key yet, and that must not look like a missing key.
    """
    await node.projector.wait_for(await node.store.last_seq(), timeout=60)
    if path.exists():  # noqa: ASYNC240 - a tiny local file, read once at startup
        with contextlib.suppress(ValueError, KeyError):
            stored = json.loads(path.read_text())  # noqa: ASYNC240
            row = await node.reads.api_key(stored["key_id"])
            if row is not None and not row["revoked"]:
                return stored, False
            log.warning("the stored API key no longer works (revoked or unknown); issuing a new one")
    creds = await create_project_with_key(node, "default", "local user")
    data = {"project_id": creds.project_id, "key_id": creds.key_id, "api_key": creds.api_key}
    _write_credentials(path, data)
    return data, True


def _public(url: str) -> str:
    """A NATS URL without credentials, for printing."""
    return ",".join(re.sub(r"//[^@/]*@", "//", u) for u in url.split(","))


async def up(args: argparse.Namespace) -> int:
    Settings, Node, ApiServer, EmbeddedNats, create_project_with_key = _server_imports()
    overrides = {k: v for k, v in {"data_dir": args.data_dir, "host": args.host, "port": args.port}.items() if v}
    settings = Settings(**overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    embedded = None
    demo = None
    nats_url = settings.nats_url
    if nats_url is None:
        embedded = _embedded_nats(EmbeddedNats, settings)
        await asyncio.to_thread(embedded.start)
        nats_url = embedded.client_url
    node = Node(settings, nats_url)
    server = None
    try:
        await node.start()
        server = ApiServer(node, settings.host, settings.port)
        await server.start()
        # What exists once the speech models are in (modules, models, the app, the node)
        # lives as long as the process: keep it out of the collector, whose full passes
        # over it paused the loop for up to 190 ms mid-call. Frozen before the models
        # were in, Pipecat and ONNX (imported as they load) stayed in.
        await node.warmed()
        gc.freeze()
        creds, created = await _ensure_credentials(
            node, create_project_with_key, settings.data_dir / "credentials.json"
        )
        base = f"http://{settings.host}:{server.port}"
        lines = [
            "Unpod speech stack is up.",
            f"  API:        {base}",
            f"  API docs:   {base}/schema/swagger",
            f"  NATS:       {_public(nats_url)}"
            + (" (embedded, token in the data folder)" if embedded else " (external)"),
            f"  Data:       {settings.data_dir.resolve()}",
            f"  Project:    {creds['project_id']}",
        ]
        if created:
            lines += [
                "",
                "  Your API key (shown once; also stored in the data folder, mode 0600):",
                f"    export UNPOD_API_KEY={creds['api_key']}",
            ]
        else:
            lines += [f"  API key:    stored in {(settings.data_dir / 'credentials.json').resolve()}"]
        lines += [f"    export UNPOD_BASE_URL={base}"]
        demo = None
        if args.demo:
            demo, demo_lines = await _start_demo(node, creds, base)
            lines += demo_lines
        lines += ["", "Press Ctrl-C to stop."]
        print("\n".join(lines), flush=True)
        await stop.wait()
        print("Stopping: finishing live calls (up to 30 s)...", flush=True)
        cut = await node.drain(timeout_s=30)
        if cut:
            print(f"Ended {cut} call(s) that were still going.", flush=True)
    finally:
        if demo is not None:
            await demo.shutdown()
        if server is not None:
            await server.stop()
        await node.stop()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
    print("Stopped.", flush=True)
    return 0


async def _start_demo(node, creds: dict[str, str], base: str):
    """The example concierge agent, in this process, and a pipe to talk to it."""
    from examples.concierge_agent import AGENT_ID, handle_call
    from unpod import AgentRunner, AsyncClient

    async with AsyncClient(api_key=creds["api_key"], base_url=base) as client:
        pipes = [p for p in await client.pipes.list() if p.agent_id == AGENT_ID]
        pipe = (
            pipes[0]
            if pipes
            else await client.pipes.create(name="Demo concierge", agent_id=AGENT_ID, voice_profile="vp_local_en")
        )
    runner = AgentRunner(handle_call, agent_id=AGENT_ID, max_sessions=20, api_key=creds["api_key"], base_url=base)
    asyncio.create_task(runner.run(), name="demo-runner")
    await asyncio.wait_for(runner.registered.wait(), 10)
    node.demo_pipe = (creds["project_id"], pipe.pipe_id)
    return runner, [
        "",
        f"  Demo agent: {AGENT_ID} is running; pipe {pipe.pipe_id} ('{pipe.name}').",
        f"  Talk to it in a browser on this machine: {base}/demo",
        '  Or from code: POST /v1/sessions/token {"pipe_id": ...}, then open',
        f"    {base.replace('http', 'ws', 1)}/v1/pipes/{pipe.pipe_id}/connect?token=<token>",
        '  and send {"type": "user.text", "text": "my name is Ada"}.',
    ]


async def rebuild_read_model(args: argparse.Namespace) -> int:
    """Replay the event log into a fresh read model (the node must be stopped)."""
    Settings, _Node, _ApiServer, EmbeddedNats, _ = _server_imports()
    import nats

    from actors.event_store import EventStore
    from projections.projector import rebuild

    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    embedded = None
    url = settings.nats_url
    if url is None:
        embedded = _embedded_nats(EmbeddedNats, settings)
        embedded.start()
        url = embedded.client_url
    nc = await nats.connect(url)
    try:
        store = EventStore(nc, settings.stream)
        await store.start()
        position = await rebuild(store, settings.read_model_path)
        await store.stop()
        print(f"Rebuilt {settings.read_model_path} up to event {position}.")
    finally:
        await nc.close()
        if embedded is not None:
            embedded.stop()
    return 0


def configure_logging(level: str) -> None:
    """Our logs at ``level``, and Pipecat's too: it logs through loguru at DEBUG by
    default, several lines per call and per turn (and a line costs CPU on every call)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from loguru import logger
    except ImportError:  # an SDK-only install: no speech here
        return
    logger.remove()
    logger.add(sys.stderr, level=level.upper())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unpod", description="Unpod speech stack")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="run the whole stack on this machine")
    p_up.add_argument("--data-dir", help="data folder (default .unpod, or UNPOD_DATA_DIR)")
    p_up.add_argument("--host", help="API listen address (default 127.0.0.1, or UNPOD_HOST)")
    p_up.add_argument("--port", type=int, help="API port (default 8700, or UNPOD_PORT; 0 = any free port)")
    p_up.add_argument("--demo", action="store_true", help="also run the example concierge agent and a pipe for it")
    p_rebuild = sub.add_parser("rebuild-read-model", help="replay the event log into a fresh read model")
    p_rebuild.add_argument("--data-dir")
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("UNPOD_LOG_LEVEL", "INFO"))
    runner = {"up": up, "rebuild-read-model": rebuild_read_model}[args.command]
    try:
        import uvloop

        return uvloop.run(runner(args))
    except ImportError:
        return asyncio.run(runner(args))


if __name__ == "__main__":
    sys.exit(main())
