// polyvox microphone capture: mono float32 at the AudioContext rate -> pcm16 at 24 kHz, posted in 20 ms frames.
// Resampling is linear interpolation (the page asks the browser for echo cancellation and noise suppression).
const OUT_RATE = 24000;
const FRAME = 480; // 20 ms at 24 kHz

class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / OUT_RATE; // input samples per output sample
    this.t = 0; // read position in [prev, ...block] coordinates
    this.prev = 0; // last sample of the previous block
    this.frame = new Int16Array(FRAME);
    this.n = 0;
  }

  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    const at = (i) => (i === 0 ? this.prev : ch[i - 1]);
    while (this.t < ch.length) {
      const i = Math.floor(this.t);
      const f = this.t - i;
      const s = at(i) * (1 - f) + at(i + 1) * f;
      this.frame[this.n++] = Math.max(-32768, Math.min(32767, Math.round(s * 32767)));
      if (this.n === FRAME) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(FRAME);
        this.n = 0;
      }
      this.t += this.step;
    }
    this.t -= ch.length;
    this.prev = ch[ch.length - 1];
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
