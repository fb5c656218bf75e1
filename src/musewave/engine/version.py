"""The engine version is part of every request fingerprint: bump it when output changes."""

ENGINE_VERSION = "0.7.0"  # basses, held voices and dense mixes transcribe; jazz kit, trap arps
