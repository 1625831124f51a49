"""The AgentRunner SDK customers run on their own machines: it registers with the
orchestrator (door 2), takes dispatched calls, dials each call's bridge (door 3)
and runs the user's entrypoint with a CallContext. Text only; never audio.

Depends on websockets, httpx and msgspec only (no server code).
"""

from runner.adapters import HTTPAdapter
from runner.agent_runner import AgentRunner, RunnerStats
from runner.context import CallContext
from runner.session import CallMetrics, Session

__all__ = ["AgentRunner", "CallContext", "CallMetrics", "HTTPAdapter", "RunnerStats", "Session"]
