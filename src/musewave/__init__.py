"""MuseWave: a text prompt becomes a finished, mastered track."""

__version__ = "0.1.0"
