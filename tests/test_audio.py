"""Audio loading: any format/rate/channels in, clear one-line errors for bad input (CLI never tracebacks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from polyvox.audio import SAMPLE_RATE, float_to_pcm16, load_audio, pcm16_to_float, resample
from polyvox.cli import main
from polyvox.errors import AudioInputError


def tone(seconds: float, sr: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


@pytest.mark.parametrize(
    ("fmt", "subtype", "sr", "channels"),
    [
        ("WAV", "FLOAT", 96_000, 2),
        ("WAV", "PCM_16", 8_000, 1),
        ("FLAC", "PCM_24", 44_100, 2),
        ("OGG", "VORBIS", 48_000, 1),
    ],
)
def test_any_format_rate_and_channels(tmp_path: Path, fmt: str, subtype: str, sr: int, channels: int):
    p = tmp_path / f"x.{fmt.lower()}"
    sf.write(p, tone(1.0, sr, channels), sr, format=fmt, subtype=subtype)
    a = load_audio(p)
    assert a.sample_rate == SAMPLE_RATE and a.samples.ndim == 1 and a.samples.dtype == np.float32
    assert abs(a.duration - 1.0) < 0.02
    assert 0.15 < np.abs(a.samples).max() <= 1.0


def test_mp3(tmp_path: Path):
    p = tmp_path / "x.mp3"
    try:
        sf.write(p, tone(1.0, 44_100), 44_100, format="MP3")
    except Exception:
        pytest.skip("this libsndfile cannot write mp3")
    assert abs(load_audio(p).duration - 1.0) < 0.1


def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x08\x00\x00WAVEfmt " + np.random.default_rng(0).bytes(2000))
    text = tmp_path / "notes.txt"
    text.write_text("this is not audio\n" * 50)
    long = tmp_path / "long.wav"  # 2 hours at 1 kHz, 8-bit: a 7 MB file
    with sf.SoundFile(long, "w", samplerate=1000, channels=1, subtype="PCM_U8") as f:
        block = np.zeros(600_000, np.float32)
        for _ in range(12):
            f.write(block)
    short = tmp_path / "short.wav"
    sf.write(short, tone(0.02, 16_000), 16_000)
    nan = tmp_path / "nan.wav"
    x = tone(1.0, 16_000)
    x[100] = np.nan
    sf.write(nan, x, 16_000, subtype="FLOAT")
    return {
        "missing": (tmp_path / "nope.wav", "not found"),
        "directory": (tmp_path, "directory"),
        "empty": (empty, "empty"),
        "corrupt": (corrupt, "cannot read"),
        "text": (text, "cannot read"),
        "long": (long, "minutes long"),
        "short": (short, "only"),
        "nan": (nan, "NaN"),
    }


def test_bad_input_raises_clear_errors(tmp_path: Path):
    for name, (path, expected) in bad_files(tmp_path).items():
        with pytest.raises(AudioInputError, match=expected):
            load_audio(path)
        assert name


def test_cli_bad_input_one_line_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    for path, expected in bad_files(tmp_path).values():
        code = main(["talk", str(path), "-o", str(tmp_path / "out.wav")])
        err = capsys.readouterr().err.strip()
        assert code == 2, err
        assert err.startswith("error: ") and expected in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "out.wav").exists()


def test_resample_and_pcm16_round_trip():
    x = tone(0.5, 48_000)
    y = resample(x, 48_000, 24_000)
    assert len(y) == 12_000
    z = pcm16_to_float(float_to_pcm16(y))
    assert np.max(np.abs(z - y)) < 1e-4
    with pytest.raises(AudioInputError):
        pcm16_to_float(b"\x00\x01\x02")
