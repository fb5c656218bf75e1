"""Observability: metrics, structured logs and tracing."""
