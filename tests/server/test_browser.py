"""The talk page at `/`, driven in headless Chromium whose fake microphone plays a wav.

Chromium's fake capture device (`--use-file-for-fake-audio-capture=FILE%noloop`) plays the wav once from the
moment the page opens the microphone: the page's AudioWorklet resamples it to 24 kHz pcm16, the server's VAD
cuts the turn, and the reply's transcript and audio come back to the page. The page keeps counters on
`window.polyvox` (mic samples sent, reply samples scheduled / played, truncations) for these tests to read.

Needs the Debian packages `chromium` and `chromium-driver` and the `selenium` package (no browser downloads:
Selenium drives /usr/bin/chromedriver directly); skipped when they are missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")
pytest.importorskip("selenium")

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from polyvox.audio import load_audio
from polyvox.server import ServerOptions, create_app
from polyvox.server.testing import ScriptedEngine, running_server

HAS_CASCADE = importlib.util.find_spec("polyvox.cascade") is not None and (
    importlib.util.find_spec("polyvox.cascade.engine") is not None
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MIC_RATE = 48_000  # the wav the fake microphone plays (Chromium resamples it to the capture rate)

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless browser test needs Chromium: apt-get install chromium chromium-driver",
)


def mic_wav(path: Path, *parts: float | np.ndarray) -> Path:
    """A mono 16-bit wav at 48 kHz: floats are seconds of silence, arrays are audio at 48 kHz."""
    pieces = [np.zeros(int(p * MIC_RATE), np.float32) if isinstance(p, float | int) else p for p in parts]
    sf.write(path, np.concatenate(pieces), MIC_RATE, subtype="PCM_16")
    return path


class Page:
    """The talk page in a headless Chromium whose microphone plays `wav`."""

    def __init__(self, port: int, wav: Path, profile: Path) -> None:
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--window-size=900,700",
            "--use-fake-ui-for-media-stream",  # grant the microphone without a prompt
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}%noloop",  # play the wav once, then silence
            "--autoplay-policy=no-user-gesture-required",
        ):
            opts.add_argument(flag)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))  # installed: must start
        self.driver.set_script_timeout(10)
        self.driver.get(f"http://127.0.0.1:{port}/")

    def close(self) -> None:
        self.driver.quit()

    def click(self, element_id: str) -> None:
        self.driver.find_element(By.ID, element_id).click()

    def text(self, element_id: str) -> str:
        return self.driver.find_element(By.ID, element_id).text

    def stats(self) -> dict[str, Any]:
        return self.driver.execute_script("return window.polyvox")

    def bubbles(self, who: str) -> list[dict[str, Any]]:
        """The conversation's `who` ("user" / "assistant") bubbles: text, labels, classes."""
        return self.driver.execute_script(
            """return [...document.querySelectorAll('#log .turn.' + arguments[0])].map((el) => ({
                 text: el.querySelector('.text').textContent,
                 labels: [...el.querySelectorAll('.labels span')].map((s) => s.textContent),
                 cancelled: el.classList.contains('cancelled')}));""",
            who,
        )

    def errors(self) -> list[str]:
        shown = [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, "#log .error")]
        logged = [m["message"] for m in self.driver.get_log("browser") if m["level"] == "SEVERE"]
        return shown + logged

    def wait(self, what: str, check, timeout: float) -> Any:
        """Poll `check()` until it returns something truthy (returned); fails with `what` and the page's state."""
        end = time.monotonic() + timeout
        while True:
            got = check()
            if got:
                return got
            if time.monotonic() > end:
                pytest.fail(
                    f"timed out after {timeout:.0f} s waiting for {what}; status {self.text('status')!r}, "
                    f"stats {self.stats()}, user {self.bubbles('user')}, assistant {self.bubbles('assistant')}, "
                    f"errors {self.errors()}"
                )
            time.sleep(0.1)

    def start_talking(self) -> None:
        """Connect, then open the microphone (the fake device starts playing the wav)."""
        self.click("connect")
        self.wait("the session", lambda: self.text("status") == "connected", 10)
        self.click("mic")
        self.wait("the microphone", lambda: self.stats()["micSamples"] > 0, 10)

    def screenshot(self, path: Path) -> None:
        assert self.driver.save_screenshot(str(path)), "no screenshot"
        assert path.stat().st_size > 1000


@pytest.fixture
def open_page(tmp_path: Path):
    pages: list[Page] = []

    def _open(port: int, wav: Path) -> Page:
        pages.append(Page(port, wav, tmp_path / f"profile{len(pages)}"))
        return pages[-1]

    yield _open
    for p in pages:
        p.close()


def question(say, text: str = "What is the capital of France?") -> np.ndarray:
    """espeak-ng speaking `text`: (n,) float32 at 48 kHz, at a typical microphone level (peak 0.25)."""
    x = load_audio(say(text), MIC_RATE).samples
    return (0.25 / max(1e-6, float(np.abs(x).max())) * x).astype(np.float32)


def assert_reply_heard(page: Page, timeout: float) -> tuple[str, str]:
    """Wait for a finished reply (labels come with response.done) whose audio played; (user text, reply text)."""
    reply = page.wait(
        "a finished reply",
        lambda: [b for b in page.bubbles("assistant") if b["labels"] and b["text"].strip()],
        timeout,
    )[0]
    page.wait(
        "the reply's audio to play out",
        lambda: (s := page.stats())["audioPlayed"] and s["playedSamples"] >= 0.9 * s["scheduledSamples"] and s,
        30,
    )
    user = page.bubbles("user")
    assert user, "no user transcript"
    assert not reply["cancelled"], reply
    assert "language: en" in reply["labels"], reply
    assert not page.errors(), page.errors()
    return user[0]["text"], reply["text"]


def test_spoken_question_scripted_reply(open_page, say, tmp_path: Path):
    """Mic -> worklet -> server VAD -> ScriptedEngine -> transcripts, labels and audio on the page."""
    engine = ScriptedEngine(reply="hello from polyvox")
    wav = mic_wav(tmp_path / "mic.wav", 1.0, question(say), 3.0)
    with running_server(create_app(lambda: engine, ServerOptions(vad="energy"))) as port:
        page = open_page(port, wav)
        page.start_talking()
        user, reply = assert_reply_heard(page, timeout=15)
        labels = page.bubbles("assistant")[0]["labels"]
        played = page.stats()["playedSamples"]
        # the typed path: a text message gets a spoken reply too
        page.driver.find_element(By.ID, "text").send_keys("and now in writing")
        page.driver.find_element(By.CSS_SELECTOR, "#say button").click()
        page.wait("the typed turn's reply", lambda: len([b for b in page.bubbles("assistant") if b["labels"]]) == 2, 10)
        assert page.bubbles("user")[1]["text"] == "and now in writing"
        page.screenshot(tmp_path / "scripted.png")
    assert user.startswith("audio "), user  # the ScriptedEngine's transcript: "audio 2.71 s"
    heard_s = float(user.split()[1])
    assert 1.5 < heard_s < 4.0, user  # the spoken question (~2.3 s) with the VAD's padding, not the whole wav
    assert reply == "hello from polyvox"
    assert [t.text for t in engine.turns] == [None, "and now in writing"]
    assert engine.turns[1].history[-1].content == "hello from polyvox"  # the spoken turn is in the conversation
    assert "emotion: neutral" in labels, labels
    assert played >= 0.9 * 3 * 2400, played  # 3 words x 100 ms at 24 kHz


def test_barge_in_stops_playback(open_page, say, tmp_path: Path):
    """Speaking over a long reply stops its audio at once, truncates it to what was heard, and answers again."""
    engine = ScriptedEngine(reply=" ".join(f"word{i}" for i in range(40)), delay_s=0.1)  # ~4 s, in real time
    q = question(say)
    wav = mic_wav(tmp_path / "mic.wav", 1.0, q, 2.5, question(say, "Stop, please."), 3.0)
    with running_server(create_app(lambda: engine, ServerOptions(vad="energy"))) as port:
        page = open_page(port, wav)
        page.start_talking()
        page.wait("two user turns", lambda: len(page.bubbles("user")) >= 2, 15)
        page.wait("the second reply", lambda: len([b for b in page.bubbles("assistant") if b["labels"]]) >= 2, 15)
        page.screenshot(tmp_path / "barge_in.png")
        first = page.bubbles("assistant")[0]
        stats = page.stats()
        assert first["cancelled"], first
        assert any(label.startswith("status: cancelled (turn_detected)") for label in first["labels"]), first
        assert len(stats["truncations"]) == 1, stats
        cut = stats["truncations"][0]
        assert 0 < cut["heard_ms"] < cut["scheduled_ms"], cut
        assert not page.errors(), page.errors()  # the server accepted the truncate
    # the second turn's history holds the first reply cut to what was heard
    history = engine.turns[1].history
    said = [m.content for m in history if m.role == "assistant"]
    assert said and said[0].startswith("word0") and len(said[0].split()) < 40, said
    assert first["text"] == said[0]  # the page shows the reply cut to what was heard, as the server keeps it


def test_api_key_from_the_page(open_page, tmp_path: Path):
    """With an API key set, the page is refused without it and connects with it (sent as a subprotocol)."""
    engine = ScriptedEngine()
    wav = mic_wav(tmp_path / "mic.wav", 1.0)
    with running_server(create_app(lambda: engine, ServerOptions(vad="energy", api_key="sekrit"))) as port:
        page = open_page(port, wav)
        page.click("connect")
        page.wait("the refusal", lambda: "refused" in page.text("status"), 10)
        page.driver.find_element(By.ID, "key").send_keys("sekrit")
        page.click("connect")
        page.wait("the session", lambda: page.text("status") == "connected", 10)
        assert page.driver.find_element(By.ID, "connect").text == "Disconnect"
        page.click("connect")
        page.wait("the disconnect", lambda: page.text("status") == "disconnected", 10)
        assert page.driver.find_element(By.ID, "mic").get_attribute("disabled")
        assert page.driver.find_element(By.CSS_SELECTOR, "#say button").get_attribute("disabled")


class FailingEngine(ScriptedEngine):
    def _answer(self, turn, cancel):
        raise RuntimeError("the model fell over")
        yield  # a generator


def test_engine_failure_is_shown(open_page, tmp_path: Path):
    """A failed response shows its error on the page instead of an empty reply."""
    engine = FailingEngine()
    with running_server(create_app(lambda: engine, ServerOptions(vad="energy"))) as port:
        page = open_page(port, mic_wav(tmp_path / "mic.wav", 1.0))
        page.click("connect")
        page.wait("the session", lambda: page.text("status") == "connected", 10)
        page.driver.find_element(By.ID, "text").send_keys("hello?")
        page.driver.find_element(By.CSS_SELECTOR, "#say button").click()
        shown = page.wait("the error", lambda: page.driver.find_elements(By.CSS_SELECTOR, "#log .error"), 10)
        assert "the model fell over" in shown[0].text, shown[0].text
        assert page.text("status") == "connected"


@pytest.mark.skipif(not HAS_CASCADE, reason="polyvox.cascade.engine is not available")
def test_spoken_question_cascade_reply(open_page, cascade, say, tmp_path: Path):
    """The real cascade (silero VAD, whisper, llama.cpp, TTS) answers a question spoken into the page."""
    wav = mic_wav(tmp_path / "mic.wav", 1.0, question(say), 4.0)
    with running_server(create_app(lambda: cascade, ServerOptions())) as port:
        page = open_page(port, wav)
        page.start_talking()
        user, reply = assert_reply_heard(page, timeout=45)
        page.screenshot(tmp_path / "cascade.png")
    # Chromium's input processing (noise suppression, gain control) blurs espeak-ng's voice for whisper
    # ("capital on France" happens): check the words that survive, not the exact sentence.
    assert "capital" in user.lower(), user
    assert len(reply.split()) >= 2, reply
