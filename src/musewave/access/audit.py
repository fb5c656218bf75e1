"""The audit trail: key creation and revocation, and admin actions, as structured log lines
(``logger: musewave.audit``) naming the key's id and name, never its secret."""

from __future__ import annotations

from musewave.access.keys import Caller
from musewave.observability.logging import get_logger

_log = get_logger("musewave.audit")


def audit(action: str, caller: Caller, **facts: object) -> None:
    """One line: who (``key_id``, None for anonymous use or the CLI; ``key``, its name) did
    ``action``, with ``facts``."""
    _log.info("audit", action=action, key_id=caller.owner or None, key=caller.name, **facts)
