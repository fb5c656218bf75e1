"""The engine version is part of every request fingerprint: bump it when output changes."""

ENGINE_VERSION = "0.2.0"
