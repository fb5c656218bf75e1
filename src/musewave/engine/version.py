"""The engine version is part of every request fingerprint: bump it when output changes."""

ENGINE_VERSION = (
    "0.3.0"  # vocals, captions, video, cover art; sampled instruments, genre sound design
)
