"""Short-lived tokens bound to one call and one runner (door 3).

``HMAC(secret, call_id . worker_id . expiry)``: a token opens the bridge of its
own call only, for the runner it was issued to, until it expires. The node that
hosts a call issues and checks its tokens, so the secret never leaves the node.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time


class BridgeTokens:
    def __init__(self, secret: bytes | None = None, ttl_s: float = 120.0) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.ttl_s = ttl_s

    def _sign(self, call_id: str, worker_id: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"{call_id}\x00{worker_id}\x00{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")

    def issue(self, call_id: str, worker_id: str) -> str:
        expires = int(time.time() + self.ttl_s)
        wid = base64.urlsafe_b64encode(worker_id.encode()).decode().rstrip("=")
        return f"{expires}.{wid}.{self._sign(call_id, worker_id, expires)}"

    def verify(self, token: str, call_id: str) -> str | None:
        """The worker id the token was issued to, or None (wrong call, tampered, expired)."""
        try:
            expires_s, wid, signature = token.split(".")
            expires = int(expires_s)
            worker_id = base64.urlsafe_b64decode(wid + "=" * (-len(wid) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        if expires < time.time():
            return None
        if not hmac.compare_digest(signature, self._sign(call_id, worker_id, expires)):
            return None
        return worker_id
