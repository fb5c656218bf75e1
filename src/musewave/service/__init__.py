"""The HTTP/WebSocket service: validates, persists, enqueues and streams. Never renders."""
