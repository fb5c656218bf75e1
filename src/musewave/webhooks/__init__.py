"""Signed webhooks (Standard Webhooks 1.0): per-owner secrets, durable deliveries made off the
job's path by each API process's :class:`WebhookDispatcher`, and SSRF-safe delivery."""

from musewave.webhooks.destinations import AllowList, RefusedDestination
from musewave.webhooks.dispatcher import EVENT_FILTERS, WebhookDispatcher
from musewave.webhooks.store import DeliveryRecord, SecretRecord, WebhookStore

__all__ = [
    "EVENT_FILTERS",
    "AllowList",
    "DeliveryRecord",
    "RefusedDestination",
    "SecretRecord",
    "WebhookDispatcher",
    "WebhookStore",
]
