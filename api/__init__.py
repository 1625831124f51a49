"""The Litestar app: management REST API, health, OpenAPI; later the WebSocket doors."""
