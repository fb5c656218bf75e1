"""The engine version is part of every request fingerprint: bump it when output changes."""

# 0.8.0: gates written as notes, basses not ducked on the kicks, low piano EQ, trap ad-libs
# off the beat
# 0.9.0: rock's guitar layered over a synthesized double, ambient's pluck and drone, dnb's
# piano and written pad chops, synthwave's chops after the bass, ad-libs moved off the notes,
# trap's pedal pad, cinematic's shorter taiko, a shorter reverb tail, MP3 in two LAME runs
# 0.10.0: lofi's short kick and soft snare (also boom-bap's synthesized kit, which a render
# without a SoundFont plays), funk's louder ghost scratches, reggae's organ bubble, ambient's
# open pad voicing and drier hall, cinematic's choir over a synthesized one, TimGM6mb's filter
# sweep
ENGINE_VERSION = "0.10.0"
