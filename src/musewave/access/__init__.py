"""Who may do what: API keys (hashed, scoped), callers, and rate limits."""

from musewave.access.keys import ANONYMOUS, OPERATOR, ApiKeyRecord, Caller, KeyStore, Scope

__all__ = ["ANONYMOUS", "OPERATOR", "ApiKeyRecord", "Caller", "KeyStore", "Scope"]
