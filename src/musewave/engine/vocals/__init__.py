"""Vocals: lyrics (given, or written by the lyric writer) sung over the plan, and captions.

Inside the stage: ``lyrics`` (parse, place blocks in sections) or ``writer`` → ``espeak``
(phonemes) → ``syllables`` → ``melody`` → ``singer`` (WORLD) → ``captions``;
``track.render_vocals`` runs it. ``languages`` and ``voices`` are pure data that the request
validates against, so this package's ``__init__`` imports nothing (the request is imported by
the plan, which the stage needs).
"""
