"""The engine version is part of every request fingerprint: bump it when output changes."""

ENGINE_VERSION = "0.6.0"  # vocals from a fresh espeak-ng per render, breath-free voice variants
