"""A live conversation: audio goes in as it arrives, events come out — the streaming engine interface.

    push(chunk) ─ VAD (listen.vad, every 32 ms) ─ started ─ partial transcripts every `partial_every_ms` of speech
                                               ─ paused (≈200 ms of silence) ─ final transcript of the speech so far
                                                                              ─ end-of-turn model (semantic_vad)
                                                                              ─ reply prepared, held back (preemptive)
                                               ─ resumed ─ the held reply is dropped, nothing of it was heard
                                               ─ end of turn ─ EndOfTurn, the (held) reply's events flow

Engines answer turns (`Engine.stream(Turn)`); this object decides when a turn starts and ends, listens while
the user speaks (`Engine.transcribe`), and runs the reply in a worker thread. Events are handed to `emit`
from worker threads (a server hops them onto its event loop). Per-conversation engine state lives in
`conversation` (polyvox.engine.Conversation), which the caller may keep beyond this object.

Latency is measured from the end of the last voiced window (`EndOfTurn.audio_ms`), so the wait for the end
of the turn counts: `TurnResult.trace["latency_ms"]` has each stage on that clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np

from polyvox.audio import SAMPLE_RATE
from polyvox.engine import CancelToken, Conversation, Engine, Turn
from polyvox.errors import PolyvoxError
from polyvox.events import (
    AudioChunk,
    BargeIn,
    EndOfTurn,
    Event,
    PartialTranscript,
    ReplyEvent,
    SpeechStarted,
    SpeechStopped,
    TextDelta,
    TurnDone,
    UserTranscript,
)
from polyvox.listen.endpoint import EndOfTurnConfig, semantic_decision
from polyvox.listen.vad import SpeechScorer, TurnDetector, VadConfig, VadEvent

log = logging.getLogger(__name__)

Emit = Callable[[Event], None]
# (speech (n,) float32 16 kHz, its transcript or None when the engine transcribes itself) -> the turn to answer
MakeTurn = Callable[[np.ndarray, UserTranscript | None], Turn]
Judge = Callable[[np.ndarray], float]  # speech so far (16 kHz) -> P(the turn is complete)

# words that acknowledge without taking the turn: heard over a reply, they do not interrupt it
BACKCHANNEL_WORDS = (
    "mm mhm mmhm hm hmm uh-huh uhhuh uh huh yeah yep yes ok okay right sure alright i see got it cool nice wow oh "
    "ah aha sí si vale claro ja genau oui d'accord haan ha accha"
)
BACKCHANNELS = frozenset(BACKCHANNEL_WORDS.split())
# one word that does interrupt the reply at once
INTERRUPTION_WORDS = (
    "stop wait no hey hold pause sorry excuse quiet enough cancel para espera alto arrête attends halt stopp "
    "warte basta aspetta ruko"
)
INTERRUPTIONS = frozenset(INTERRUPTION_WORDS.split())


class _InFlight:
    """Transcriptions running now, over every conversation of the process (the recogniser is shared)."""

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._n > 0

    def __enter__(self) -> None:
        with self._lock:
            self._n += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._n -= 1


_TRANSCRIBING = _InFlight()


@dataclass(frozen=True)
class ListenOptions:
    """How a conversation listens: turn boundaries, partials, preemptive replies, barge-in."""

    vad: VadConfig = field(default_factory=VadConfig)  # speech threshold and padding (silence: end_of_turn's)
    # server_vad: the turn ends after end_of_turn.silence_ms; semantic_vad: at a pause the end-of-turn model
    # (Smart Turn) and the words so far decide (listen.endpoint: the eagerness's threshold and caps)
    end_of_turn: EndOfTurnConfig = field(default_factory=lambda: EndOfTurnConfig(mode="server_vad"))
    partial_every_ms: int = 700  # a partial transcript per this much new speech (0: none)
    preemptive: bool = True  # prepare the reply at each pause, before the end of the turn is certain
    tail_ms: int = 160  # silence kept after the last voiced window for the recogniser
    barge_in_ms: int = 320  # speech over a reply for this long (and not a backchannel) stops the reply
    barge_in_recheck_ms: int = 900  # ... or, when it was one unclear word then, this long
    interrupt: bool = True  # user speech may stop a reply at all
    respond: bool = True  # answer each turn (False: listen and transcribe only)
    max_turn_ms: int = 120_000  # a turn this long ends here (a monologue, a stuck microphone)
    tag_replies: bool = False  # reply events come wrapped in ReplyEvent(turn, event) (a server routes them by turn)


ECHO_WINDOW_S = 6.0  # reply audio spoken this recently may come back through the user's speaker
ECHO_SHARE = 0.6  # heard words, this share of them in what was just spoken: it is polyvox's own voice


def _words(text: str) -> list[str]:
    return [w for w in (t.strip(".,!?¡¿…'\"«»:;()").lower() for t in text.replace("-", " ").split()) if w]


def is_echo(heard: str, spoken: str) -> bool:
    """`heard` (what the microphone picked up over the reply) is mostly word pairs of `spoken` (the reply text
    of the last ECHO_WINDOW_S): the reply coming back through a speaker, not the user. Pairs, not words, so
    that "tell me about Spain" is not the echo of a reply that said "tell", "me" and "about". Text, not
    signal, comparison: it holds whatever the room and the device did to the sound, for one transcript."""
    said, recent = _words(heard), _words(spoken)
    pairs = list(pairwise(said))
    if not pairs or not recent:
        return False
    known = set(pairwise(recent))
    return sum(p in known for p in pairs) / len(pairs) >= ECHO_SHARE


def is_backchannel(text: str) -> bool:
    """Only acknowledgement words ("mm-hm", "yeah", "okay, right")."""
    words = _words(text)
    joined = " ".join(words)
    return bool(words) and (joined in BACKCHANNELS or all(w in BACKCHANNELS for w in words)) and len(words) <= 3


@dataclass
class _Capture:
    """The user turn being heard: its audio from just before the speech started, on the input timeline."""

    start_ms: float  # input time of audio[0]
    turn: int = 0  # numbered from 1 over the conversation
    audio: list[np.ndarray] = field(default_factory=list)  # 16 kHz pieces
    last_voiced_ms: float = 0.0  # end of the last voiced window
    last_voiced_wall: float = 0.0  # perf_counter when that window arrived
    pause: int = 0  # pauses seen; bumping it invalidates work done for an earlier pause
    partial_at_ms: float = 0.0  # speech covered by the last partial request
    p_complete: dict[int, float] = field(default_factory=dict)  # pause -> the end-of-turn model's answer
    wait_ms: float | None = None  # semantic_vad: the silence this pause may last before the turn ends
    over_reply: bool = False  # began while the assistant was speaking: a turn only if it barges in
    barged: bool = False  # the barge-in check ran (BargeIn emitted, or heard as a backchannel)
    barged_in: bool = False  # BargeIn was emitted: this speech is the user's new turn
    barge_checks: int = 0  # barge-in checks made

    def add(self, x: np.ndarray) -> None:
        self.audio.append(x)

    def samples(self, end_ms: float | None = None) -> np.ndarray:
        a = np.concatenate(self.audio) if len(self.audio) != 1 else self.audio[0]
        self.audio = [a]
        if end_ms is None:
            return a
        return a[: max(0, int((end_ms - self.start_ms) * SAMPLE_RATE / 1000))]


@dataclass
class _Reply:
    """A reply being prepared or spoken: the engine turn in a worker thread."""

    pause: int  # the pause of the capture it answers
    turn: int  # the capture's turn number (EndOfTurn.turn)
    cancel: CancelToken = field(default_factory=CancelToken)
    held: list[Event] = field(default_factory=list)  # events produced before the end of the turn was decided
    released: bool = False
    done: bool = False
    started_wall: float = 0.0


class ConversationSession:
    """One live conversation over an engine. Feed it with `push()`; everything it decides goes to `emit`."""

    def __init__(
        self,
        engine: Engine,
        make_turn: MakeTurn,
        emit: Emit,
        scorer: SpeechScorer,
        options: ListenOptions | None = None,
        judge: Judge | None = None,
        conversation: Conversation | None = None,
    ) -> None:
        self.engine, self.make_turn, self.emit = engine, make_turn, emit
        self.options = options or ListenOptions()
        eot = self.options.end_of_turn
        self.semantic = eot.semantic if eot.mode == "semantic_vad" and judge is not None else None
        self.judge = judge if self.semantic is not None else None
        self.conversation = conversation or Conversation()
        if self.semantic is None:  # the VAD's own silence ends the turn
            vad = replace(self.options.vad, silence_duration_ms=int(eot.silence_ms))
        else:  # the VAD reports the pause when the model is asked; the longest wait is a backstop
            t = self.semantic
            vad = replace(
                self.options.vad,
                pause_ms=int(t.ask_after_ms),
                silence_duration_ms=int(max(t.max_wait_ms, t.unfinished_wait_ms) + 100),
            )
        self.detector = TurnDetector(vad, scorer, SAMPLE_RATE)
        self._lock = threading.RLock()
        self._asr = ThreadPoolExecutor(1, thread_name_prefix="listen-asr")  # partial and final transcripts
        self._judge = ThreadPoolExecutor(1, thread_name_prefix="listen-turn")  # end-of-turn model
        self.t_ms = 0.0  # input audio fed so far
        self._recent: list[np.ndarray] = []  # audio before a start, kept for prefix padding
        self._capture: _Capture | None = None
        self._final: dict[int, UserTranscript | None] = {}  # pause -> transcript of the speech up to that pause
        self._ended: tuple[EndOfTurn, _Capture] | None = None  # decided, waiting for its transcript
        self.reply: _Reply | None = None  # the reply being heard (released), until the next one
        self.held: _Reply | None = None  # a reply prepared at a pause, not heard unless the turn ends there
        self.speaking_reply = False  # set by the front end while reply audio plays (barge-in applies)
        self.closed = False
        self._voiced_wall = time.perf_counter()  # when the last voiced window came in
        self._partial_busy = False  # a partial transcript is being made (at most one at a time)
        self._spoken: list[tuple[float, str]] = []  # (perf_counter, text) of reply audio emitted lately
        self.dropped: list[int] = []  # reply characters generated for pauses the user talked on after
        self._turns = 0  # captures so far (turn numbers)

    # -- input -------------------------------------------------------------------------------------
    def push(self, samples: np.ndarray) -> None:
        """samples: (n,) float32 at 16 kHz, any n. Cheap: VAD and bookkeeping; the rest runs in workers."""
        x = np.asarray(samples, np.float32)
        if x.ndim != 1:
            raise PolyvoxError(f"audio must be mono (n,) samples, got shape {x.shape}", "send one channel")
        if not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        with self._lock:
            if self.closed:
                return
            self.t_ms += len(x) * 1000 / SAMPLE_RATE
            if self._capture is not None:
                self._capture.add(x)
            else:
                self._keep_recent(x)
            voiced = self.detector.last_speech_ms
            events = self.detector.feed(x)
            if self.detector.last_speech_ms > voiced:  # a voiced window came in with this chunk: now
                self._voiced_wall = time.perf_counter()
            for ev in events:
                self._on_vad(ev)
            self._check_wait()
            cap = self._capture
            if cap is not None and self.t_ms - cap.start_ms > self.options.max_turn_ms and self._ended is None:
                self.end_input()
            self._maybe_partial()
            self._maybe_barge_in()

    def end_input(self) -> bool:
        """No more audio is coming (a file's end, a client's commit): the turn being heard ends now.
        False when no speech was being heard."""
        with self._lock:
            cap = self._capture
            if cap is None or self._ended is not None:
                return False
            if not self.detector.paused:  # no pause is being worked on: the speech runs to the end
                cap.last_voiced_ms, cap.last_voiced_wall = self.detector.last_speech_ms, self._voiced_wall
                self._pause_work(cap)
            self._end(cap, "input_end")
            return True

    def close(self, end_conversation: bool = True) -> None:
        """Stop listening and replying; `end_conversation`: the engine frees the conversation's state too
        (False when another listener takes the conversation over, e.g. new turn-detection settings)."""
        with self._lock:
            self.closed = True
            for r in (self.reply, self.held):
                if r is not None:
                    r.cancel.set()
        self._asr.shutdown(wait=False, cancel_futures=True)
        self._judge.shutdown(wait=False, cancel_futures=True)
        if end_conversation:
            self.engine.end_conversation(self.conversation)

    def clear(self) -> None:
        """Forget the speech being heard (the client cleared its input); a reply in progress goes on."""
        with self._lock:
            if self._capture is not None:
                self._capture.pause += 1
                self._drop_held_reply()
            self._capture, self._recent = None, []
            self.detector.reset_speech()

    def cancel_reply(self) -> None:
        """Stop the reply being heard (the front end's barge-in or a client's cancel); a reply prepared for the
        turn the user is still speaking stays."""
        with self._lock:
            if self.reply is not None:
                self.reply.cancel.set()

    # -- voice activity ------------------------------------------------------------------------------
    def _keep_recent(self, x: np.ndarray) -> None:
        self._recent.append(x)
        keep = int((self.options.vad.prefix_padding_ms + 200) * SAMPLE_RATE / 1000)
        total = sum(len(r) for r in self._recent)
        while self._recent and total - len(self._recent[0]) >= keep:
            total -= len(self._recent.pop(0))

    def _on_vad(self, ev: VadEvent) -> None:
        if ev.kind == "started":
            recent = np.concatenate(self._recent) if self._recent else np.zeros(0, np.float32)
            recent_start = self.t_ms - len(recent) * 1000 / SAMPLE_RATE
            start_ms = max(float(ev.audio_ms), recent_start)
            self._turns += 1
            cap = _Capture(start_ms, self._turns)
            cap.add(recent[int((start_ms - recent_start) * SAMPLE_RATE / 1000) :])
            self._recent = []
            cap.last_voiced_ms, cap.last_voiced_wall = self.detector.last_speech_ms, self._voiced_wall
            cap.over_reply = self._speaking
            self._capture, self._ended = cap, None
            self._final.clear()
            self.emit(SpeechStarted(start_ms))
            return
        cap = self._capture
        if cap is None or self._ended is not None:
            return
        if ev.kind == "resumed":
            cap.pause += 1  # whatever was prepared for the pause is void
            cap.wait_ms = None
            self._drop_held_reply()
        elif ev.kind == "paused":
            cap.last_voiced_ms, cap.last_voiced_wall = float(ev.audio_ms), self._voiced_wall
            self._pause_work(cap)
        elif ev.kind == "stopped":
            self._end(cap, "silence" if self.semantic is None else "cap")

    # -- while the user speaks -----------------------------------------------------------------------
    def _maybe_partial(self) -> None:
        cap, every = self._capture, self.options.partial_every_ms
        if cap is None or self._ended is not None or not every:
            return
        spoken = self.detector.last_speech_ms - cap.start_ms
        if spoken - cap.partial_at_ms < every or self._partial_busy or _TRANSCRIBING.busy:
            return  # a partial is a nicety: it never queues before another conversation's (or its own) final
        cap.partial_at_ms = spoken
        self._partial_busy = True
        audio = cap.samples()

        def work() -> None:
            try:
                with _TRANSCRIBING:
                    heard = self.engine.transcribe(audio, self.conversation, final=False)
            except Exception as e:  # a failed partial costs nothing: the final transcript is what counts
                log.warning("partial transcript failed: %s", e)
                heard = None
            finally:
                self._partial_busy = False
            with self._lock:
                if heard is not None and heard.text and self._capture is cap and self._ended is None:
                    self.emit(PartialTranscript(heard.text, heard.language, len(audio) * 1000 / SAMPLE_RATE))

        self._asr.submit(work)

    @property
    def _speaking(self) -> bool:
        """The assistant is speaking: the front end says so, or a heard reply is still being made."""
        r = self.reply
        return self.speaking_reply or (r is not None and not r.done and not r.cancel.cancelled)

    def _maybe_barge_in(self) -> None:
        """Speech over a reply for barge_in_ms: stop the reply unless the words are a backchannel or an echo.
        One word that is no interruption ("Life" for a misheard "right") waits for more: it is checked again
        once the speech has lasted barge_in_recheck_ms (a real interruption goes on; a backchannel has ended)."""
        cap, o = self._capture, self.options
        if cap is None or cap.barged or not cap.over_reply or not o.interrupt or not self.detector.speaking:
            return
        spoken = self.detector.last_speech_ms - cap.start_ms - o.vad.prefix_padding_ms
        if spoken < (o.barge_in_ms if cap.barge_checks == 0 else o.barge_in_recheck_ms):
            return
        cap.barged = True  # a check in flight (or done): none other until it says "check again"
        cap.barge_checks += 1
        audio = cap.samples()
        log.info("speech over the reply for %.0f ms: checking whether it barges in", spoken)

        def work() -> None:
            heard = self.engine.transcribe(audio, self.conversation, final=False)
            log.info("heard over the reply: %r", heard.text if heard else None)
            with self._lock:
                words = heard.text if heard is not None else ""
                if words and is_backchannel(words):
                    log.info("backchannel %r: the reply goes on", words)
                    return  # heard, never interrupts, never answered (cap.barged_in stays False)
                if words and is_echo(words, self._recently_spoken()):
                    log.info("echo of the reply %r: ignored", words)
                    return
                said = _words(words)
                if len(said) < 2 and not (said and said[0] in INTERRUPTIONS) and cap.barge_checks == 1:
                    cap.barged = False  # one unclear word: listen a little longer before stopping the reply
                    return
                cap.barged_in = True
                self.emit(BargeIn(self.detector.last_speech_ms, words))
                if self.reply is not None:
                    self.reply.cancel.set()

        self._asr.submit(work)

    def _recently_spoken(self) -> str:
        """The text of the reply audio emitted in the last ECHO_WINDOW_S."""
        now = time.perf_counter()
        return " ".join(t for at, t in self._spoken if now - at <= ECHO_WINDOW_S)

    def _pause_work(self, cap: _Capture) -> None:
        """A pause began: transcribe the speech so far, ask the end-of-turn model, prepare the reply."""
        pause = cap.pause
        end_ms = cap.last_voiced_ms + self.options.tail_ms
        audio = cap.samples(end_ms)

        def transcribe() -> None:
            try:
                with _TRANSCRIBING:
                    heard = self.engine.transcribe(audio, self.conversation, final=True)
            except Exception as e:
                log.warning("transcript failed: %s", e)
                heard = None
            with self._lock:
                ended = self._ended is not None and self._ended[1] is cap
                if (self._capture is not cap and not ended) or cap.pause != pause:
                    return  # the user went on (or a new turn began): this transcript is void
                self._final[pause] = heard
                if ended:  # the turn ended before its transcript came: answer now
                    self._start_reply(cap, audio, released=True)
                    return
                self._decide(cap, pause)
                if self._ended is not None and self._ended[1] is cap:
                    return  # the words decided the end (semantic_vad): _end started the reply
                if self.options.preemptive and self.options.respond and (cap.barged_in or not cap.over_reply):
                    self._start_reply(cap, audio, released=False)

        self._asr.submit(transcribe)
        if self.judge is not None:
            judge = self.judge
            cap.wait_ms = self.semantic.max_wait_ms
            turn_audio = cap.samples()  # the turn so far, its silence included (as Smart Turn was trained)

            def ask() -> None:
                p = judge(turn_audio)
                with self._lock:
                    cap.p_complete[pause] = p
                    self._decide(cap, pause)

            self._judge.submit(ask)

    def _decide(self, cap: _Capture, pause: int) -> None:
        """semantic_vad, once the model's answer and the words so far are both in: the turn ends when the model
        finds it complete and the words do not stop on "for", "the", "and" …; unfinished words wait longer."""
        t = self.semantic
        if t is None or self._capture is not cap or cap.pause != pause or self._ended is not None:
            return
        if pause not in cap.p_complete or pause not in self._final:
            return
        heard, p = self._final[pause], cap.p_complete[pause]
        end, cap.wait_ms = semantic_decision(t, p, heard.text if heard else None, heard.language if heard else "")
        log.debug("end of turn at a pause: P(complete)=%.2f, words %r -> %s", p, heard and heard.text, end)
        if end:
            self._end(cap, "semantic")

    def _check_wait(self) -> None:
        """semantic_vad: the pause outlasted its wait (the model doubted, or the words were unfinished)."""
        cap, vad = self._capture, self.detector
        waiting = cap is not None and cap.wait_ms is not None and self._ended is None and vad.paused
        if waiting and vad.silence_ms >= cap.wait_ms:
            self._end(cap, "cap")

    # -- the end of a turn ---------------------------------------------------------------------------
    def _end(self, cap: _Capture, reason: str) -> None:
        wait_ms = (time.perf_counter() - cap.last_voiced_wall) * 1000
        ev = EndOfTurn(reason, cap.last_voiced_ms, wait_ms, self.t_ms, cap.turn)
        self._ended = (ev, cap)
        self._capture = None
        self.detector.reset_speech()  # more speech after an early end starts a new turn (a barge-in)
        self.emit(SpeechStopped(cap.last_voiced_ms))
        if cap.over_reply and not cap.barged_in:  # "mm-hm", a cough, a short word over the reply: not a turn
            self._ended = None
            return
        self.emit(ev)
        if not self.options.respond:
            return
        held = self.held
        if held is not None and held.pause == cap.pause and not held.cancel.cancelled:
            self._release(held)
        elif cap.pause in self._final:
            self._start_reply(cap, cap.samples(cap.last_voiced_ms + self.options.tail_ms), released=True)
        # else: the transcript of this pause is on its way; transcribe() starts the reply

    def _start_reply(self, cap: _Capture, audio: np.ndarray, released: bool) -> None:
        heard = self._final[cap.pause]
        if self.held is not None:
            self.held.cancel.set()
        reply = _Reply(cap.pause, cap.turn, started_wall=time.perf_counter())
        self.held = reply
        if released:
            self._release(reply)
        turn = self.make_turn(audio, heard)
        turn.conversation = self.conversation
        turn.transcript = heard
        voiced_wall = cap.last_voiced_wall
        if heard is not None and not heard.text:  # nothing recognisable: no reply, the turn ends quietly
            self._deliver(reply, _failed("speech was detected but no words could be recognised", heard))
            reply.done = True
            return

        def run() -> None:
            try:
                for ev in self.engine.stream(turn, reply.cancel):  # a cancelled turn still ends with TurnDone
                    if isinstance(ev, TurnDone):
                        ev.result.trace["latency_ms"] = _latency(ev, voiced_wall, reply)
                        with self._lock:  # what preparing replies at pauses cost this turn
                            if self.dropped:
                                ev.result.trace["preemptive_dropped"] = len(self.dropped)
                                ev.result.trace["preemptive_wasted_chars"] = sum(self.dropped)
                                self.dropped = []
                    self._deliver(reply, ev)
            except PolyvoxError as e:
                self._deliver(reply, _failed(str(e)))
            except Exception as e:  # an engine failure fails this reply, never the conversation
                log.exception("reply failed")
                self._deliver(reply, _failed(str(e) or type(e).__name__))
            finally:
                reply.done = True

        threading.Thread(target=run, name="conversation-reply", daemon=True).start()

    def _deliver(self, reply: _Reply, ev: Event) -> None:
        with self._lock:  # emitted under the lock: released held events and live ones keep their order
            if reply.cancel.cancelled and not (reply.released and isinstance(ev, TurnDone)):
                return  # a stopped reply says nothing more; one that was heard still reports how it ended
            if not reply.released:
                reply.held.append(ev)
                return
            self._note_spoken(ev)
            self._emit_reply(reply, ev)

    def _note_spoken(self, ev: Event) -> None:
        if isinstance(ev, AudioChunk) and ev.text:
            now = time.perf_counter()
            if not self._spoken or self._spoken[-1][1] != ev.text:
                self._spoken.append((now, ev.text))
            while self._spoken and now - self._spoken[0][0] > ECHO_WINDOW_S:
                self._spoken.pop(0)

    def _emit_reply(self, reply: _Reply, ev: Event) -> None:
        self.emit(ReplyEvent(reply.turn, ev) if self.options.tag_replies else ev)

    def _release(self, reply: _Reply) -> None:
        if self.reply is not None and self.reply is not reply and not self.reply.done:
            self.reply.cancel.set()  # the reply being heard stops only for one that will be heard (or a barge-in)
        self.reply, self.held = reply, None
        reply.released = True
        held, reply.held = reply.held, []
        for ev in held:
            self._note_spoken(ev)
            self._emit_reply(reply, ev)

    def _drop_held_reply(self) -> None:
        reply = self.held
        if reply is not None:
            reply.cancel.set()
            wasted = sum(len(ev.text) for ev in reply.held if isinstance(ev, TextDelta))
            log.debug("preemptive reply dropped (%d events held, %d characters)", len(reply.held), wasted)
            self.dropped.append(wasted)
            reply.held = []
            self.held = None


def _failed(message: str, heard: UserTranscript | None = None) -> Event:
    """The TurnDone of a reply that could not be made (trace["error"] says why)."""
    from polyvox.events import Timings, TurnResult

    said = heard.text if heard else ""
    return TurnDone(TurnResult(said, heard.language if heard else "", "", Timings(), trace={"error": message}))


def _latency(done: TurnDone, voiced_wall: float, reply: _Reply) -> dict[str, float]:
    """Each stage of the turn on one clock: ms after the last voiced window of the user's turn."""
    t = done.result.timings
    start = (reply.started_wall - voiced_wall) * 1000  # the engine turn began (at the pause, or at the end)
    out = {"reply_started": round(start, 1)}
    if t.llm_first_token_ms:
        out["llm_first_token"] = round(start + t.llm_first_token_ms, 1)
    if t.tts_first_audio_ms:
        out["first_audio"] = round(start + t.tts_first_audio_ms, 1)
    return out
