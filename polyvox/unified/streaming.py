"""Streaming modules with explicit, typed, per-layer state (after moshi `modules/streaming.py`).

A StreamingModule computes on a whole sequence when not streaming (batch mode, for training) and on
consecutive chunks inside `with model.streaming(batch_size):`, carrying what it needs between chunks in
a state dataclass of its own. Concatenating the chunk outputs equals the batch output (tested per module).

    with model.streaming(batch_size=1):
        for chunk in chunks:
            out = model.step(chunk)
        model.reset_streaming(mask)  # start the masked batch items over (e.g. a new conversation)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Generic, TypeVar

import torch
from torch import Tensor, nn


@dataclass
class StreamingState:
    """Base of every per-layer state. Tensor fields have the batch as their first dimension."""

    batch_size: int

    def reset(self, mask: Tensor) -> None:
        """Return items where mask (B,) bool is True to the initial state (zeros by default)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Tensor) and value.shape[:1] == (self.batch_size,):
                value[mask] = 0


@dataclass
class NoState(StreamingState):
    """State of a container whose children hold all the state."""


S = TypeVar("S", bound=StreamingState)


class StreamingModule(nn.Module, Generic[S]):
    """A module that can run chunk by chunk. Subclasses implement `_init_streaming_state`."""

    def __init__(self) -> None:
        super().__init__()
        self._streaming_state: S | None = None

    @property
    def is_streaming(self) -> bool:
        return self._streaming_state is not None

    @property
    def state(self) -> S:
        if self._streaming_state is None:
            raise RuntimeError(f"{type(self).__name__} is not streaming: use `with module.streaming(batch):`")
        return self._streaming_state

    def _init_streaming_state(self, batch_size: int) -> S:
        return NoState(batch_size)  # type: ignore[return-value]

    def _streaming_children(self) -> Iterator[StreamingModule]:
        for m in self.modules():
            if isinstance(m, StreamingModule):
                yield m

    @contextmanager
    def streaming(self, batch_size: int) -> Iterator[None]:
        """Run this module and every streaming submodule chunk by chunk for `batch_size` streams."""
        if self.is_streaming:
            raise RuntimeError(f"{type(self).__name__} is already streaming")
        modules = list(self._streaming_children())
        try:
            for m in modules:
                m._streaming_state = m._init_streaming_state(batch_size)
            yield
        finally:
            for m in modules:
                m._streaming_state = None

    def reset_streaming(self, mask: Tensor | None = None) -> None:
        """Start over the streams where mask (B,) is True (all of them when mask is None)."""
        for m in self._streaming_children():
            st = m.state
            m_mask = torch.ones(st.batch_size, dtype=torch.bool) if mask is None else mask
            st.reset(m_mask.to(self._device()))

    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return torch.device("cpu")


@dataclass
class ConvState(StreamingState):
    previous: Tensor  # (B, C_in, kernel - stride + leftover): input not yet consumed by a full output


class StreamingConv1d(StreamingModule[ConvState]):
    """Causal (left-padded) Conv1d: output t sees input up to t*stride + stride - 1, never later.

    Batch: x (B, C_in, T) -> (B, C_out, T // stride). Streaming: any chunk length; outputs appear as soon
    as `stride` new inputs are in, the rest waits in the state.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        if kernel < stride:
            raise ValueError("kernel must be >= stride")
        self.conv = nn.Conv1d(c_in, c_out, kernel, stride)
        self.stride, self.pad = stride, kernel - stride

    def _init_streaming_state(self, batch_size: int) -> ConvState:
        w = self.conv.weight
        return ConvState(batch_size, torch.zeros(batch_size, w.shape[1], self.pad, device=w.device, dtype=w.dtype))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, C_in, T) -> (B, C_out, T_out)."""
        if self._streaming_state is None:
            x = nn.functional.pad(x, (self.pad, 0))
        else:
            x = torch.cat([self.state.previous, x], dim=-1)
        n = (x.shape[-1] - self.pad) // self.stride
        if self._streaming_state is not None:
            self.state.previous = x[..., n * self.stride :]
        if n <= 0:
            return x.new_zeros(x.shape[0], self.conv.out_channels, 0)
        return self.conv(x[..., : self.pad + n * self.stride])


@dataclass
class FramerState(StreamingState):
    previous: Tensor  # (B, window - hop + leftover) samples not yet consumed by a full frame


class CausalFramer(StreamingModule[FramerState]):
    """Waveform -> overlapping frames, each ENDING at a hop boundary (causal: no lookahead).

    Frame n covers samples [(n + 1) * hop - window, (n + 1) * hop), zeros before the start.
    """

    def __init__(self, window: int, hop: int) -> None:
        super().__init__()
        self.window, self.hop = window, hop

    def _init_streaming_state(self, batch_size: int) -> FramerState:
        return FramerState(batch_size, torch.zeros(batch_size, self.window - self.hop))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, n_samples) -> (B, n_frames, window), n_frames = n_samples // hop (batch mode)."""
        pad = self.window - self.hop
        if self._streaming_state is None:
            x = nn.functional.pad(x, (pad, 0))
        else:
            x = torch.cat([self.state.previous.to(x), x], dim=-1)
        n = (x.shape[-1] - pad) // self.hop
        if self._streaming_state is not None:
            self.state.previous = x[..., n * self.hop :]
        if n <= 0:
            return x.new_zeros(x.shape[0], 0, self.window)
        return x[..., : pad + n * self.hop].unfold(-1, self.window, self.hop)
