"""Emotion in, emotion out: recognise the user's emotion from voice and words; shape the reply to fit.

    from polyvox.affect import EmotionRecognizer, ProsodyBaseline, reply_style
    rec = EmotionRecognizer()
    est = rec.predict(speech_16k, transcript, language, baseline=baselines[speaker].mean)
    style = reply_style(est)            # style.prosody -> TTS, style.instruction -> system prompt

Modules: labels (EMOTIONS), features (ProsodyFeatures), lexicon (keywords), recognizer (the model),
style (reply prosody and wording), corpus + texts (the generated training speech).
"""

from polyvox.affect.features import ProsodyFeatures
from polyvox.affect.labels import EMOTIONS, NEUTRAL, Emotion
from polyvox.affect.recognizer import EmotionEstimate, EmotionRecognizer, ProsodyBaseline
from polyvox.affect.style import EMPATHY, INSTRUCTIONS, MIRROR, REPLY_PROSODY, MirrorConfig, ReplyStyle, reply_style

__all__ = [
    "EMOTIONS",
    "EMPATHY",
    "INSTRUCTIONS",
    "MIRROR",
    "NEUTRAL",
    "REPLY_PROSODY",
    "Emotion",
    "EmotionEstimate",
    "EmotionRecognizer",
    "MirrorConfig",
    "ProsodyBaseline",
    "ProsodyFeatures",
    "ReplyStyle",
    "reply_style",
]
