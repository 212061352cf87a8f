"""The real-recording benchmark: predict_clip parity, hand-built counts, cache, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wakeforge.evaluation.benchmark import (
    ModelSpec,
    Settings,
    StreamSet,
    benchmark_model,
    load_suite,
    n_predict_chunks,
    run_benchmark,
)

from ._synth import SR, noise, plant_tone, speechlike, write


def build_identity_head(path: Path, n_frames: int = 16) -> Path:
    """ONNX head whose score is dimension 0 of the newest embedding: hand-built sequences."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Gather", ["x", "last"], ["e"], axis=1),    # [1, 1, 96]
        helper.make_node("Gather", ["e", "zero"], ["s"], axis=2),    # [1, 1, 1]
        helper.make_node("Flatten", ["s"], ["y"], axis=1),           # [1, 1]
    ]
    graph = helper.make_graph(
        nodes, "identity_head",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_frames, 96])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        initializer=[numpy_helper.from_array(np.array([n_frames - 1], np.int64), "last"),
                     numpy_helper.from_array(np.array([0], np.int64), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _stream(scores: list[float] | np.ndarray) -> np.ndarray:
    e = np.zeros((len(scores), 96), np.float32)
    e[:, 0] = scores
    return e


def _set(kind: str, group: str, streams: list[np.ndarray], seconds: list[float]) -> StreamSet:
    n = len(seconds)
    return StreamSet(group, kind, [Path(f"{group}{i}.wav") for i in range(n)], streams,
                     np.asarray(seconds, float), np.ones(n, bool), list(range(n)), gap_s=0.0)


def test_hand_built_scores_give_expected_counts(tmp_path):
    head = build_identity_head(tmp_path / "bob.onnx")
    initial = np.zeros((41, 96), np.float32)
    # 4 positives of "bob": max scores 0.9, 0.6, 0.3, 0.97 (a warm-up frame's 1.0 is zeroed)
    pos = [_stream([1.0, 0, 0, 0, 0, 0, 0.9, 0]), _stream([0] * 6 + [0.6, 0.2]),
           _stream([0] * 6 + [0.3]), _stream([0] * 7 + [0.97])]
    # one hour of speech (45000 frames of 80 ms): a 10-frame run at 0.8 and, 2 frames after
    # it, a run at 0.7 inside the 1.2 s (15-frame) refractory period -> one event; then runs
    # at 0.55 and 0.7 far apart -> one event each
    neg = np.zeros(45000, np.float32)
    neg[100:110] = 0.8
    neg[112:114] = 0.702
    neg[10000:10003] = 0.552
    neg[20000:20002] = 0.702
    other = [_stream([0] * 6 + [0.652])]    # another phrase's clip: fires at 0.5
    # (scores a little above grid points: float32 0.65 is below the threshold 0.65)
    sets = {
        ("positive", "bob", None): _set("positive", "bob", pos, [1.0] * 4),
        ("positive", "bob", 10.0): _set("positive", "bob", [p * 0.5 for p in pos], [1.0] * 4),
        ("positive", "alice", None): _set("positive", "alice", other, [3600.0]),
        ("negative", "speech", None): _set("negative", "speech", [_stream(neg)], [3600.0]),
    }
    res = benchmark_model(ModelSpec("bob", head, "bob", card_threshold=0.95), sets, initial,
                          snr_db=10.0, refractory_s=1.2, threshold=0.5)
    assert res["n_positive"] == 4
    assert res["recall_at_threshold"] == pytest.approx(0.75)          # 0.9, 0.6, 0.97
    assert res["noisy_recall_at_threshold"] == pytest.approx(0.0)     # halved: 0.45, 0.3, ...
    fa = res["false_accepts_per_hour_at_threshold"]
    assert fa["speech"] == pytest.approx(3.0)      # run at 100, run at 10000, run at 20000
    assert fa["phrase:alice"] == pytest.approx(1.0)
    assert res["false_accepts_per_hour_all"] == pytest.approx(4.0 / 2.0)
    # <= 1 FA/h over 2 h: at most 2 events, i.e. above alice's 0.652 (then: the 0.8 run and
    # the 0.702 run at 20000); <= 0.5 FA/h: above 0.702. Grid steps are 0.005.
    at1 = res["at_target"]["1"]
    assert 0.65 < at1["threshold"] <= 0.655
    assert at1["recall"] == pytest.approx(0.5)                       # 0.9, 0.97
    assert at1["false_accepts_per_hour"] <= 1.0
    at05 = res["at_target"]["0.5"]                                   # <= 1 event in 2 h
    assert 0.7 < at05["threshold"] <= 0.705 and at05["recall"] == pytest.approx(0.5)
    card = res["at_card_threshold"]
    assert card["threshold"] == 0.95 and card["recall"] == pytest.approx(0.25)
    assert card["false_accepts_per_hour"] == 0.0


def test_model_without_positives_is_scored_on_negatives_only(tmp_path):
    head = build_identity_head(tmp_path / "x.onnx")
    neg = np.zeros(4500, np.float32)
    neg[50:52] = 0.9
    sets = {("negative", "speech", None): _set("negative", "speech", [_stream(neg)], [360.0])}
    res = benchmark_model(ModelSpec("x", head, None), sets, np.zeros((41, 96), np.float32),
                          snr_db=None)
    assert res["false_accepts_per_hour_at_threshold"]["speech"] == pytest.approx(10.0)
    assert "recall_at_threshold" not in res


def test_predict_chunk_count_matches_openwakeword():
    for n in (1000, 1280, 1281, 2560, 2561, 40000):
        assert n_predict_chunks(n) == len(range(0, n - 1280, 1280))


@pytest.fixture(scope="module")
def tiny_suite(tmp_path_factory):
    """positives/bob (tones), positives/alice (speech-like), negatives/room, noise/hum."""
    root = tmp_path_factory.mktemp("suite")
    rng = np.random.default_rng(7)
    for i in range(3):
        write(root / "positives" / "bob" / f"b{i}.wav", plant_tone(noise(2.0, rng), 0.2))
        write(root / "positives" / "alice" / f"a{i}.flac", speechlike(1.5 + 0.3 * i, rng, 2, 0.1, 0.6))
    for i in range(2):
        write(root / "negatives" / "room" / f"n{i}.wav", speechlike(4.0, rng, 2, 0.1, 0.6))
    write(root / "negatives" / "room" / "broken.wav", np.zeros(0, np.float32))
    (root / "negatives" / "room" / "broken.wav").write_bytes(b"RIFF not audio")
    hum = 0.05 * np.sin(2 * np.pi * 120 * np.arange(3 * SR) / SR)
    write(root / "noise" / "hum" / "hum.wav", (hum + noise(3.0, rng)).astype(np.float32))
    return root


def test_scores_equal_openwakeword_predict_clip(tiny_suite, alexa_paths, tone_head,
                                                 feature_paths, tmp_path):
    """Each positive clip's benchmark scores = Model.predict_clip on the same clip."""
    import openwakeword

    from wakeforge.audio.io import load_audio
    from wakeforge.evaluation.benchmark import compute_features, score_stream
    from wakeforge.evaluation.streaming import load_head, to_int16

    suite = load_suite(tiny_suite)
    sets, initial, info = compute_features(suite, cache_dir=tmp_path / "cache", workers=1,
                                           feature_paths=feature_paths, progress=False)
    assert info["units_computed"] == info["units"] > 0
    for head_path in (alexa_paths[0], tone_head):
        model = openwakeword.Model(
            wakeword_models=[str(head_path)], inference_framework="onnx",
            melspec_model_path=str(feature_paths.melspec_onnx),
            embedding_model_path=str(feature_paths.embedding_onnx))
        name = next(iter(model.models))
        head = load_head(head_path)
        for group in ("bob", "alice"):
            ss = sets[("positive", group, None)]
            assert len(ss.streams) == 3
            for fi, emb in zip(ss.stream_files, ss.streams, strict=True):
                ours = score_stream(head, initial, emb)
                model.reset()
                # openWakeWord fills its start-up buffer from the global numpy RNG; use ours.
                model.preprocessor.feature_buffer = initial.copy()
                clip = to_int16(load_audio(ss.files[fi]))
                ref = np.array([p[name] for p in model.predict_clip(clip, padding=1)])
                assert ours.shape == ref.shape
                assert float(np.abs(ours - ref).max()) <= 1e-5
    # the tone head hears the tones and not the speech-like clips
    tone = load_head(tone_head)
    assert all(score_stream(tone, initial, e).max() > 0.9
               for e in sets[("positive", "bob", None)].streams)
    assert all(score_stream(tone, initial, e).max() < 0.5
               for e in sets[("positive", "alice", None)].streams)


def test_run_benchmark_end_to_end_and_cache(tiny_suite, tone_head, feature_paths, tmp_path):
    spec = ModelSpec("tone", Path(tone_head), "bob")
    kw = dict(cache_dir=tmp_path / "cache", workers=1, feature_paths=feature_paths,
              progress=False, snr_db=10.0, settings=Settings())
    res = run_benchmark(tiny_suite, [spec], out_dir=tmp_path / "out", **kw)
    m = res["models"][0]
    assert m["recall_at_threshold"] == 1.0 and m["n_positive"] == 3
    assert m["false_accepts_per_hour_at_threshold"]["room"] == 0.0
    assert m["false_accepts_per_hour_at_threshold"]["phrase:alice"] == 0.0
    assert "noise:hum" in m["false_accepts_per_hour_at_threshold"]
    assert m["noisy_recall_at_threshold"] is not None
    assert res["skipped_files"] == [str(tiny_suite / "negatives" / "room" / "broken.wav")]
    # negatives: 2 x 4 s + gaps, the broken file not counted
    assert res["negatives"]["room"] == pytest.approx((8.0 + 2 * 0.5) / 3600, rel=1e-3)
    saved = json.loads((tmp_path / "out" / "benchmark.json").read_text())
    assert saved["models"][0]["recall_at_threshold"] == 1.0
    assert (tmp_path / "out" / "det_bob.png").stat().st_size > 1000
    assert "bob (3 real clips)" in (tmp_path / "out" / "benchmark.txt").read_text()
    # second run: nothing recomputed, same figures
    again = run_benchmark(tiny_suite, [spec], out_dir=None, **kw)
    assert again["features"]["units_computed"] == 0
    assert again["models"][0]["det"] == m["det"]


def test_cli_one_line_errors(tmp_path, capsys):
    from wakeforge.benchmark import main

    with pytest.raises(SystemExit) as exc:
        main(["--suite", str(tmp_path / "nope"), "--model", "x.onnx"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "suite folder" in err[0] and "not found" in err[0]
    (tmp_path / "s" / "positives" / "bob").mkdir(parents=True)
    with pytest.raises(SystemExit):
        main(["--suite", str(tmp_path / "s"), "--model", "x.onnx"])
    assert "no audio" in capsys.readouterr().err


def test_cli_labels_and_phrase_from_file_name(tiny_suite, tone_head, tmp_path, capsys,
                                             monkeypatch, feature_paths):
    from wakeforge.benchmark import main

    bob = tmp_path / "m" / "bob.onnx"
    bob.parent.mkdir()
    bob.write_bytes(Path(tone_head).read_bytes())
    rc = main(["--suite", str(tiny_suite), "--model", f"a={bob}", "--model", f"b={tone_head}",
               "--phrase", "bob", "--out", str(tmp_path / "o"), "--cache", str(tmp_path / "c"),
               "--workers", "1", "--snr-db", "-1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "bob (3 real clips)" in out and "\na " in out and "\nb " in out
    res = json.loads((tmp_path / "o" / "benchmark.json").read_text())
    assert [m["label"] for m in res["models"]] == ["a", "b"]
    assert res["models"][0]["positive_max_scores"] == res["models"][1]["positive_max_scores"]
    # without --phrase the file name bob.onnx picks positives/bob
    main(["--suite", str(tiny_suite), "--model", str(bob), "--out", str(tmp_path / "o2"),
          "--cache", str(tmp_path / "c"), "--workers", "1", "--snr-db", "-1"])
    res = json.loads((tmp_path / "o2" / "benchmark.json").read_text())
    assert res["models"][0]["phrase"] == "bob" and res["features"]["units_computed"] == 0
    with pytest.raises(SystemExit):
        main(["--suite", str(tiny_suite), "--model", f"a={bob}", f"a={bob}",
              "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o3")])
    assert "labelled 'a'" in capsys.readouterr().err
