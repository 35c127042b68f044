"""The text stream's vocabulary: [base tokens | special tokens | IPA phonemes].

The base is either the 256 UTF-8 bytes (any script, no tokenizer file) or, for a core initialised from a
pretrained LM, that LM's own tokenizer, so its embedding rows and lm_head keep their meaning. Special
tokens and the shared IPA inventory (polyvox.unified.phonemes) are appended after the base ids.
"""

from __future__ import annotations

import codecs
from abc import ABC, abstractmethod
from pathlib import Path

from polyvox.errors import require
from polyvox.unified.phonemes import IPA_INVENTORY, SPECIAL_TOKENS


class BaseTokenizer(ABC):
    """Orthographic text <-> base token ids (0 .. size-1)."""

    size: int

    @abstractmethod
    def encode(self, text: str) -> list[int]: ...

    @abstractmethod
    def decoder(self) -> StreamDecoder:
        """A fresh incremental decoder (tokens may split UTF-8 characters)."""


class StreamDecoder(ABC):
    @abstractmethod
    def push(self, token: int) -> str:
        """Feed one base token, return the text that became complete ('' if none)."""


class ByteTokenizer(BaseTokenizer):
    """UTF-8 bytes: 256 tokens, every language, no files."""

    size = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decoder(self) -> StreamDecoder:
        return _ByteStreamDecoder()


class _ByteStreamDecoder(StreamDecoder):
    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def push(self, token: int) -> str:
        return self._utf8.decode(bytes([token]))


class HFTokenizer(BaseTokenizer):
    """A Hugging Face `tokenizer.json` (the `tokenizers` package), for a core initialised from that LM."""

    def __init__(self, path: str | Path, size: int | None = None) -> None:
        tokenizers = require("tokenizers", "a pretrained LM's tokenizer", "unified")
        self._tok = tokenizers.Tokenizer.from_file(str(path))
        self.size = size or self._tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def decoder(self) -> StreamDecoder:
        return _HFStreamDecoder(self._tok)


class _HFStreamDecoder(StreamDecoder):
    def __init__(self, tok) -> None:
        self._tok, self._ids, self._text = tok, [], ""

    def push(self, token: int) -> str:
        self._ids.append(token)
        text = self._tok.decode(self._ids)
        if text.endswith("\ufffd"):  # an incomplete character: wait for more tokens
            return ""
        new, self._text = text[len(self._text) :], text
        return new


class TextVocab:
    """Token ids of the text stream and conversions to/from text and IPA."""

    def __init__(self, base: BaseTokenizer | None = None) -> None:
        self.base = base or ByteTokenizer()
        self.special = {name: self.base.size + i for i, name in enumerate(SPECIAL_TOKENS)}
        self.phoneme_offset = self.base.size + len(SPECIAL_TOKENS)
        self._phoneme_ids = {p: self.phoneme_offset + i for i, p in enumerate(IPA_INVENTORY)}
        self.size = self.phoneme_offset + len(IPA_INVENTORY)

    pad = property(lambda self: self.special["<pad>"])
    bos = property(lambda self: self.special["<bos>"])
    eot = property(lambda self: self.special["<eot>"])
    unk = property(lambda self: self.special["<unk>"])

    def encode(self, text: str) -> list[int]:
        return self.base.encode(text)

    def encode_phonemes(self, ipa: str) -> list[int]:
        """IPA string -> [<ipa>, phoneme ids..., </ipa>]; symbols outside the inventory become <unk>."""
        body = [self._phoneme_ids.get(ch, self.unk) for ch in ipa]
        return [self.special["<ipa>"], *body, self.special["</ipa>"]]

    def is_phoneme(self, token: int) -> bool:
        return token >= self.phoneme_offset

    def decode(self, tokens: list[int]) -> str:
        """Text of `tokens`: base tokens decoded, phonemes as IPA, control tokens dropped."""
        d = self.stream_decoder()
        return "".join(d.push(t) for t in tokens)

    def stream_decoder(self) -> TextStreamDecoder:
        return TextStreamDecoder(self)


class TextStreamDecoder:
    """Incremental decoding of the text stream, one token per core step."""

    def __init__(self, vocab: TextVocab) -> None:
        self.vocab = vocab
        self._base = vocab.base.decoder()

    def push(self, token: int) -> str:
        v = self.vocab
        if token < v.base.size:
            return self._base.push(token)
        if v.is_phoneme(token):
            return IPA_INVENTORY[token - v.phoneme_offset]
        return ""
