"""Rate limits (the ``limits`` library): generations per API key (the key's own rate, or
``MUSEWAVE_RATE_GENERATIONS``) and per client IP for anonymous use, and the ingress ceiling on
state-changing requests from all clients together (``MUSEWAVE_RATE_INGRESS``). Counts live in
Redis when one is configured, so every API replica shares them, and in this process's memory
otherwise.

A limit that cannot be checked (Redis unreachable) lets the request through and says so in the
log: the queue and its own start-rate limit still protect the workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from musewave.access.keys import Caller
from musewave.observability.logging import get_logger

log = get_logger(__name__)

NAMESPACE = "musewave-generations"
SUGGESTIONS_NAMESPACE = "musewave-suggestions"
INGRESS_NAMESPACE = "musewave-ingress"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request may go on, and what to tell the client (``RateLimit-*`` headers)."""

    allowed: bool
    limit: int
    remaining: int
    reset_after_s: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_after_s))
        return headers


class GenerationLimits:
    """One moving window per key (or anonymous IP), and one for the ingress ceiling.
    ``storage_uri``: ``memory://`` or a ``redis://`` URL. When :attr:`remote`, calls ask Redis:
    make them off the event loop."""

    def __init__(
        self,
        storage_uri: str,
        *,
        default_rate: str,
        anonymous_rate: str,
        ingress_rate: str = "100/second",
        suggestion_rate: str = "120/minute",
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.remote = not storage_uri.startswith("memory://")
        self.default_rate = parse(default_rate)
        self.anonymous_rate = parse(anonymous_rate)
        self.ingress_rate = parse(ingress_rate)
        self.suggestion_rate = parse(suggestion_rate)

    def ingress(self) -> int | None:
        """Count one state-changing request against the ceiling: ``None`` when it may go on,
        else the seconds to wait before trying again."""
        try:
            if self._limiter.hit(self.ingress_rate, INGRESS_NAMESPACE):
                return None
            stats = self._limiter.get_window_stats(self.ingress_rate, INGRESS_NAMESPACE)
        except Exception as error:  # the counter's store is down: let the request through
            log.warning("ingress ceiling not checked", error=str(error))
            return None
        return max(1, round(stats.reset_time - time.time()))

    def hit(self, caller: Caller, client_ip: str, cost: int = 1) -> Verdict:
        """Count ``cost`` generations (a request's variants) for ``caller`` (from
        ``client_ip``)."""
        rate: RateLimitItem = self.anonymous_rate if caller.anonymous else self.default_rate
        if caller.rate is not None:
            rate = parse(caller.rate)
        return self._hit(rate, NAMESPACE, caller.owner or f"ip:{client_ip}", cost)

    def hit_suggestion(self, caller: Caller, client_ip: str) -> Verdict:
        """Count one suggestion request for ``caller`` (from ``client_ip``): the same rate
        for every key and anonymous IP (``MUSEWAVE_RATE_SUGGESTIONS``)."""
        who = caller.owner or f"ip:{client_ip}"
        return self._hit(self.suggestion_rate, SUGGESTIONS_NAMESPACE, who, 1)

    def _hit(self, rate: RateLimitItem, namespace: str, who: str, cost: int) -> Verdict:
        try:
            allowed = self._limiter.hit(rate, namespace, who, cost=cost)
            stats = self._limiter.get_window_stats(rate, namespace, who)
        except Exception as error:  # the counter's store is down: let the request through
            log.warning("rate limit not checked", error=str(error))
            return Verdict(True, rate.amount, rate.amount, 0)
        reset_after_s = max(0, round(stats.reset_time - time.time()))
        return Verdict(allowed, rate.amount, stats.remaining, reset_after_s)
