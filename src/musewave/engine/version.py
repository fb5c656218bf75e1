"""The engine version is part of every request fingerprint: bump it when output changes."""

ENGINE_VERSION = "0.5.0"  # spoken ad-libs, funk horns, modal progressions, early slow attacks
