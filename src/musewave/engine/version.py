"""The engine version is part of every request fingerprint: bump it when output changes."""

ENGINE_VERSION = "0.4.0"  # sampled drum kits, gated synth pads, tonic-first progressions, dnb break
