"""The WebSocket doors: 1 clients, 2 runner control socket, 3 per-call bridge."""
