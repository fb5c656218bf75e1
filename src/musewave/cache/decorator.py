"""``cached``: memoize a function's JSON-serializable result in a ``Cache``."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from musewave.cache.base import Cache
from musewave.cache.canonical import canonical_json
from musewave.cache.keys import sha256_hex

P = ParamSpec("P")
R = TypeVar("R")


def cached(
    cache: Cache,
    namespace: str,
    ttl_s: float | None = None,
    key: Callable[..., str] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a sync function so repeated calls with equal arguments are served from cache.

    The default logical key is ``"{module}.{qualname}:{sha256}"``, the digest taken over the
    canonical JSON of the bound arguments with defaults applied, so ``f(1)``, ``f(x=1)`` and
    ``f(1, flag=False)`` (when that is the default) share one entry; invalidate every result of
    a function with ``cache.delete_pattern(namespace, "{module}.{qualname}:*")``. ``key``, if
    given, receives the call's arguments and returns the logical key instead.

    Results are stored as JSON, so the function must return JSON-serializable data and a hit
    returns the JSON round trip (tuples come back as lists). ``None`` results are cached too.
    Raises ``TypeError`` at call time when the arguments or the result cannot be serialized
    (e.g. a method's ``self``: give such functions a ``key``).
    Concurrent misses for one key each call the function (no stampede protection).
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        name = f"{fn.__module__}.{fn.__qualname__}"

        def logical_key(*args: Any, **kwargs: Any) -> str:
            if key is not None:
                return key(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return f"{name}:{sha256_hex(canonical_json(bound.arguments))}"

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            entry_key = logical_key(*args, **kwargs)
            raw = cache.get(namespace, entry_key)
            if raw is not None:
                try:
                    (result,) = json.loads(raw)
                    return result  # type: ignore[no-any-return]
                except ValueError:
                    pass  # not ours or damaged: recompute and overwrite
            result = fn(*args, **kwargs)
            # Wrapped in a list so a cached None is told apart from a miss.
            cache.set(namespace, entry_key, canonical_json([result]), ttl_s)
            return result

        return wrapper

    return decorate
