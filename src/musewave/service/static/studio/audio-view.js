// Pictures of a decoded track (waveform, spectrogram) with the playhead, a stem mixer that
// plays the stems in sync with the <audio> player, and a store-only zip writer for stems.

const FFT_SIZE = 1024;
const MIN_HZ = 30;
// A dark-to-bright colour ramp for the spectrogram (stops at 0, .25, .5, .75, 1).
const RAMP = [[8, 6, 30], [80, 18, 120], [190, 40, 110], [250, 130, 60], [252, 240, 170]];

function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  return { width, height, ratio };
}

function mono(buffer) {
  const out = new Float32Array(buffer.length);
  for (let c = 0; c < buffer.numberOfChannels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < data.length; i++) out[i] += data[i] / buffer.numberOfChannels;
  }
  return out;
}

// In-place radix-2 FFT of (re, im), length a power of two.
function fft(re, im) {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let size = 2; size <= n; size <<= 1) {
    const step = (-2 * Math.PI) / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < size / 2; k++) {
        const wr = Math.cos(step * k), wi = Math.sin(step * k);
        const a = start + k, b = a + size / 2;
        const tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr; im[b] = im[a] - ti;
        re[a] += tr; im[a] += ti;
      }
    }
  }
}

function rampColour(x) {
  const t = Math.min(1, Math.max(0, x)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(t));
  const f = t - i;
  return RAMP[i].map((v, c) => Math.round(v + (RAMP[i + 1][c] - v) * f));
}

export class TrackView {
  constructor({ audio, waveform, spectrogram }) {
    this.audio = audio;
    this.waveform = waveform;
    this.spectrogram = spectrogram;
    this.samples = null;
    this.sampleRate = 44100;
    this.duration = 0;
    this.spectrumImage = null;
    this.frame = 0;
    for (const canvas of [waveform, spectrogram]) {
      canvas.addEventListener("click", (event) => {
        if (!this.duration) return;
        const box = canvas.getBoundingClientRect();
        this.audio.currentTime = ((event.clientX - box.left) / box.width) * this.duration;
      });
    }
    const redraw = () => this.drawPlayhead();
    audio.addEventListener("timeupdate", redraw);
    audio.addEventListener("seeked", redraw);
    audio.addEventListener("play", () => this.animate());
    new ResizeObserver(() => this.draw()).observe(waveform);
  }

  show(buffer) {
    this.samples = mono(buffer);
    this.sampleRate = buffer.sampleRate;
    this.duration = buffer.duration;
    this.spectrumImage = null;
    this.draw();
  }

  clear() {
    this.samples = null;
    this.duration = 0;
    for (const canvas of [this.waveform, this.spectrogram]) {
      canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    }
  }

  animate() {
    cancelAnimationFrame(this.frame);
    const tick = () => {
      this.drawPlayhead();
      if (!this.audio.paused) this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  draw() {
    if (!this.samples) return;
    this.peaks = this.computePeaks(fitCanvas(this.waveform).width);
    const { width, height } = fitCanvas(this.spectrogram);
    if (!this.spectrumImage || this.spectrumImage.width !== width || this.spectrumImage.height !== height) {
      this.spectrumImage = this.computeSpectrogram(width, height);
    }
    this.drawPlayhead();
  }

  computePeaks(columns) {
    const peaks = new Float32Array(columns * 2);
    const per = this.samples.length / columns;
    for (let x = 0; x < columns; x++) {
      let lo = 0, hi = 0;
      const end = Math.min(this.samples.length, Math.floor((x + 1) * per));
      for (let i = Math.floor(x * per); i < end; i++) {
        const v = this.samples[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      peaks[2 * x] = lo;
      peaks[2 * x + 1] = hi;
    }
    return peaks;
  }

  computeSpectrogram(width, height) {
    const image = new ImageData(width, height);
    const re = new Float32Array(FFT_SIZE), im = new Float32Array(FFT_SIZE);
    const window = new Float32Array(FFT_SIZE).map((_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (FFT_SIZE - 1)));
    const nyquist = this.sampleRate / 2;
    // Rows on a log-frequency axis, low notes at the bottom.
    const rowBin = Array.from({ length: height }, (_, y) => {
      const hz = MIN_HZ * (nyquist / MIN_HZ) ** ((height - 1 - y) / (height - 1));
      return Math.min(FFT_SIZE / 2 - 1, Math.round((hz / nyquist) * (FFT_SIZE / 2)));
    });
    const hop = Math.max(1, (this.samples.length - FFT_SIZE) / width);
    for (let x = 0; x < width; x++) {
      const start = Math.floor(x * hop);
      for (let i = 0; i < FFT_SIZE; i++) {
        re[i] = (this.samples[start + i] || 0) * window[i];
        im[i] = 0;
      }
      fft(re, im);
      for (let y = 0; y < height; y++) {
        const b = rowBin[y];
        const db = 10 * Math.log10(re[b] * re[b] + im[b] * im[b] + 1e-12);
        const [r, g, bl] = rampColour((db + 40) / 80);
        const p = 4 * (y * width + x);
        image.data[p] = r; image.data[p + 1] = g; image.data[p + 2] = bl; image.data[p + 3] = 255;
      }
    }
    return image;
  }

  drawPlayhead() {
    if (!this.peaks) return;
    const styles = getComputedStyle(document.documentElement);
    const played = this.duration ? this.audio.currentTime / this.duration : 0;
    const { width, height } = fitCanvas(this.waveform);
    const wave = this.waveform.getContext("2d");
    wave.clearRect(0, 0, width, height);
    const middle = height / 2;
    const columns = this.peaks.length / 2;
    for (let x = 0; x < columns; x++) {
      wave.fillStyle = x / columns <= played ? styles.getPropertyValue("--wave-played") : styles.getPropertyValue("--wave");
      const top = middle - this.peaks[2 * x + 1] * middle;
      const bottom = middle - this.peaks[2 * x] * middle;
      wave.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    const spec = this.spectrogram.getContext("2d");
    if (this.spectrumImage) spec.putImageData(this.spectrumImage, 0, 0);
    const x = Math.round(played * this.spectrogram.width);
    spec.fillStyle = "#ffffff";
    spec.fillRect(x, 0, Math.max(1, window.devicePixelRatio || 1), this.spectrogram.height);
  }
}

// Stems played with Web Audio, started at the player's position whenever it plays or seeks,
// so solo and mute follow the player. While any stem is soloed or muted, the player's own
// sound (the mix) is silenced and the stems are heard instead.
export class StemMixer {
  constructor(audio) {
    this.audio = audio;
    this.stems = [];
    this.context = null;
    this.playerGain = null;
    this.sources = [];
    const restart = () => this.sync();
    audio.addEventListener("play", restart);
    audio.addEventListener("seeked", restart);
    audio.addEventListener("pause", () => this.stopSources());
    audio.addEventListener("ended", () => this.stopSources());
  }

  // `stems`: [{name, arrayBuffer}] — decoded here.
  async load(stems) {
    this.reset();
    this.pending = stems;
  }

  reset() {
    this.stopSources();
    this.stems = [];
    this.pending = null;
    if (this.playerGain) this.playerGain.gain.value = 1;
  }

  get engaged() {
    return this.stems.some((s) => s.solo || s.muted);
  }

  async ensureReady() {
    if (!this.context) {
      this.context = new AudioContext();
      // The player's sound goes through Web Audio too, so it can be silenced without the
      // player's controls showing it muted.
      this.playerGain = this.context.createGain();
      this.context.createMediaElementSource(this.audio).connect(this.playerGain).connect(this.context.destination);
    }
    if (this.context.state === "suspended") await this.context.resume();
    if (this.pending) {
      const pending = this.pending;
      this.pending = null;
      this.stems = await Promise.all(pending.map(async ({ name, arrayBuffer }) => {
        const gain = this.context.createGain();
        gain.connect(this.context.destination);
        return { name, buffer: await this.context.decodeAudioData(arrayBuffer), gain, solo: false, muted: false };
      }));
    }
  }

  async toggle(name, what) {
    await this.ensureReady();
    const stem = this.stems.find((s) => s.name === name);
    if (!stem) return false;
    stem[what] = !stem[what];
    this.applyGains();
    this.sync();
    return stem[what];
  }

  applyGains() {
    const anySolo = this.stems.some((s) => s.solo);
    for (const stem of this.stems) {
      stem.gain.gain.value = stem.muted ? 0 : anySolo && !stem.solo ? 0 : 1;
    }
    if (this.playerGain) this.playerGain.gain.value = this.engaged ? 0 : 1;
  }

  sync() {
    this.stopSources();
    if (!this.context || !this.engaged || this.audio.paused) return;
    const offset = this.audio.currentTime;
    const when = this.context.currentTime + 0.02;
    this.sources = this.stems.map((stem) => {
      const source = this.context.createBufferSource();
      source.buffer = stem.buffer;
      source.loop = this.audio.loop;
      source.connect(stem.gain);
      source.start(when, Math.min(offset, stem.buffer.duration));
      return source;
    });
  }

  stopSources() {
    for (const source of this.sources) {
      try { source.stop(); } catch { /* already stopped */ }
    }
    this.sources = [];
  }
}

// A zip file (stored, not compressed: WAV barely compresses) of [{name, bytes: Uint8Array}].
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export function zipStored(files) {
  const encoder = new TextEncoder();
  const now = new Date();
  const time = (now.getHours() << 11) | (now.getMinutes() << 5) | (now.getSeconds() >> 1);
  const date = ((now.getFullYear() - 1980) << 9) | ((now.getMonth() + 1) << 5) | now.getDate();
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { name, bytes } of files) {
    const nameBytes = encoder.encode(name);
    const crc = crc32(bytes);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(6, 0x0800, true); // UTF-8 names
    local.setUint16(10, time, true);
    local.setUint16(12, date, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, bytes.length, true);
    local.setUint32(22, bytes.length, true);
    local.setUint16(26, nameBytes.length, true);
    parts.push(local, nameBytes, bytes);
    const entry = new DataView(new ArrayBuffer(46));
    entry.setUint32(0, 0x02014b50, true);
    entry.setUint16(4, 20, true);
    entry.setUint16(6, 20, true);
    entry.setUint16(8, 0x0800, true);
    entry.setUint16(12, time, true);
    entry.setUint16(14, date, true);
    entry.setUint32(16, crc, true);
    entry.setUint32(20, bytes.length, true);
    entry.setUint32(24, bytes.length, true);
    entry.setUint16(28, nameBytes.length, true);
    entry.setUint32(42, offset, true);
    central.push(entry, nameBytes);
    offset += 30 + nameBytes.length + bytes.length;
  }
  const centralSize = central.reduce((n, part) => n + part.byteLength, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, centralSize, true);
  end.setUint32(16, offset, true);
  return new Blob([...parts, ...central, end], { type: "application/zip" });
}
