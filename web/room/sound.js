// The soft chime when time is nearly up, generated (no files), and whether this device wants it.

const SOUND_KEY = "circlekeeper.sound";
let audioContext = null;

/** Whether this device wants the chime. */
export function soundEnabled() {
  try {
    return localStorage.getItem(SOUND_KEY) === "on";
  } catch {
    return false;
  }
}

/** Remembers on this device whether it wants the chime. */
export function setSoundEnabled(on) {
  try {
    localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  } catch {
    /* not remembered */
  }
}

function ensureAudio() {
  if (!audioContext) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audioContext = new Ctx();
  }
  if (audioContext.state === "suspended") audioContext.resume().catch(() => {});
  return audioContext;
}

/** Two soft sine notes with slow fades: a calm "time is nearly up". */
export function chime() {
  const ctx = ensureAudio();
  if (!ctx) return;
  const start = ctx.currentTime + 0.05;
  [523.25, 659.25].forEach((freq, i) => {
    const t = start + i * 0.35;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.07, t + 0.06);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 1.4);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 1.5);
  });
}

