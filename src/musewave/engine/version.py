"""The engine version is part of every request fingerprint: bump it when output changes."""

# 0.8.0: gates written as notes, basses not ducked on the kicks, low piano EQ, trap ad-libs
# off the beat
ENGINE_VERSION = "0.8.0"
