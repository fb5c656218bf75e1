"""The engine version is part of every request fingerprint: bump it when output changes."""

ENGINE_VERSION = "0.6.0"  # one-drop reggae, overdriven rock lead, swing jazz, remix, vocals
