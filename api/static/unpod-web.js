// Unpod web SDK: a voice session with a Speech Pipe from a browser.
//
//   import { UnpodSession } from "https://<your unpod>/sdk/unpod-web.js";
//   const session = new UnpodSession({ token });   // a session token from your backend
//   session.on("user_turn", (text) => ...);         // what the caller said (transcript)
//   session.on("agent_reply", (text) => ...);       // the agent's whole reply
//   session.on("state", (state) => ...);            // connecting, listening, thinking, ended
//   await session.connect();                        // mic + speaker, full duplex
//   await session.disconnect();
//
// Also: "agent_delta" (streamed words), "interrupted" (the caller cut the agent off),
// "error" ({code, message, severity}), "ended" (reason). Audio is 16-bit PCM over the
// socket: 16 kHz both ways here, the rate the server's speech pipeline hears.

const RATE = 16000;
const FRAME = 320; // 20 ms at 16 kHz

// Two small AudioWorklets, loaded from a Blob so the SDK is one file.
const WORKLETS = `
class UnpodCapture extends AudioWorkletProcessor {
  constructor() { super(); this.buf = new Int16Array(${FRAME}); this.n = 0; }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) for (let i = 0; i < ch.length; i++) {
      const s = Math.max(-1, Math.min(1, ch[i]));
      this.buf[this.n++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.n === this.buf.length) {
        this.port.postMessage(this.buf.buffer, [this.buf.buffer]);
        this.buf = new Int16Array(${FRAME}); this.n = 0;
      }
    }
    return true;
  }
}
class UnpodPlayback extends AudioWorkletProcessor {
  constructor() {
    super(); this.chunks = []; this.offset = 0; this.played = 0; this.reported = 0;
    this.port.onmessage = (e) => {
      if (e.data === "clear") { this.chunks = []; this.offset = 0; }
      else this.chunks.push(new Int16Array(e.data));
    };
  }
  process(_inputs, outputs) {
    const out = outputs[0][0];
    let i = 0;
    while (i < out.length && this.chunks.length) {
      const c = this.chunks[0];
      while (i < out.length && this.offset < c.length) out[i++] = c[this.offset++] / 0x8000;
      if (this.offset === c.length) { this.chunks.shift(); this.offset = 0; }
    }
    this.played += i;
    for (; i < out.length; i++) out[i] = 0;
    if (this.played - this.reported >= ${RATE / 10}) {  // tell the page every 100 ms of audio
      this.reported = this.played; this.port.postMessage(this.played);
    }
    return true;
  }
}
registerProcessor("unpod-capture", UnpodCapture);
registerProcessor("unpod-playback", UnpodPlayback);
`;

const SDK_ORIGIN = new URL(import.meta.url).origin;

export class UnpodSession {
  /**
   * @param {{token: string, url?: string, audio?: boolean}} options
   *   token: a single-use session token (POST /v1/sessions/token on your backend);
   *   url: the Unpod API origin (default: where this module was loaded from);
   *   audio: false for a text-only session (send with sendText);
   *   microphone: getUserMedia audio constraints to add or override. Echo cancellation is on
   *     (the bot must not hear itself and barge in); the browser's noise suppression and
   *     automatic gain are off, because the server's VAD and STT do better on the raw signal
   *     (in our browser test, with them on, PocketSphinx lost the first words of each turn).
   */
  constructor({ token, url = SDK_ORIGIN, audio = true, microphone = {} } = {}) {
    if (!token) throw new Error("UnpodSession needs a session token");
    this.token = token;
    this.url = url.replace(/^http/, "ws").replace(/\/$/, "");
    this.audio = audio;
    this.microphone = microphone;
    this.state = "idle";
    this.sessionId = null;
    /** Seconds of agent audio played through the speaker so far. */
    this.playedSeconds = 0;
    this._handlers = {};
    this._ws = null;
    this._ctx = null;
    this._mic = null;
    this._playback = null;
    this._connecting = null;
  }

  on(event, handler) {
    (this._handlers[event] ||= []).push(handler);
    return this;
  }

  off(event, handler) {
    this._handlers[event] = (this._handlers[event] || []).filter((h) => h !== handler);
    return this;
  }

  _emit(event, ...args) {
    for (const h of this._handlers[event] || []) {
      try { h(...args); } catch (e) { console.error(`unpod: ${event} handler failed`, e); }
    }
  }

  _setState(state) {
    if (state === this.state) return;
    this.state = state;
    this._emit("state", state);
  }

  /** Open the socket and, unless audio is off, the microphone and speaker. Resolves when live. */
  async connect() {
    if (this._ws) throw new Error("already connected");
    this._setState("connecting");
    if (this.audio) {
      try {
        await this._openAudio();
      } catch (e) {
        await this._closeAudio();  // the microphone, if it was opened, is released
        this._setState("ended");
        throw e;
      }
    }
    const ws = new WebSocket(`${this.url}/v1/sessions/connect?token=${encodeURIComponent(this.token)}`);
    ws.binaryType = "arraybuffer";
    this._ws = ws;
    // Listen from the first frame: the agent may greet before audio has started.
    ws.addEventListener("message", (e) => { if (ws === this._ws) this._onMessage(e); });
    try {
      await new Promise((resolve, reject) => {
        this._connecting = { resolve, reject };
        ws.addEventListener("close", (e) => reject(new Error(`closed (${e.code}): ${e.reason || "no reason"}`)), { once: true });
      });
    } catch (e) {
      this._ws = null;  // before closing: nothing more from this socket reaches the session
      ws.close(1000, "connect failed");  // the server ends the call: no session left running
      await this._closeAudio();
      this._setState("ended");
      throw e;
    } finally {
      this._connecting = null;
    }
    ws.addEventListener("close", (e) => this._onClose(e));
    if (this.audio) {
      this._mic.port.onmessage = (e) => { if (ws.readyState === WebSocket.OPEN) ws.send(e.data); };
    }
  }

  /** Send the caller's words as text (a turn), e.g. in a text-only session. */
  sendText(text) {
    this._ws?.send(JSON.stringify({ type: "user.text", text }));
  }

  /** Hang up. */
  async disconnect() {
    const ws = this._ws;
    this._connecting?.reject(new Error("disconnected while connecting"));
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "hangup" }));
    ws?.close(1000, "client disconnect");
    await this._closeAudio();
    this._setState("ended");
  }

  async _openAudio() {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false, ...this.microphone },
    });
    this._stream = stream;
    const ctx = new AudioContext({ sampleRate: RATE });
    this._ctx = ctx;
    const url = URL.createObjectURL(new Blob([WORKLETS], { type: "application/javascript" }));
    await ctx.audioWorklet.addModule(url);
    URL.revokeObjectURL(url);
    this._mic = new AudioWorkletNode(ctx, "unpod-capture");
    ctx.createMediaStreamSource(stream).connect(this._mic);
    this._playback = new AudioWorkletNode(ctx, "unpod-playback", { outputChannelCount: [1] });
    this._playback.connect(ctx.destination);
    this._playback.port.onmessage = (e) => { this.playedSeconds = e.data / RATE; this._emit("audio", this.playedSeconds); };
    await ctx.resume();
  }

  async _closeAudio() {
    this._stream?.getTracks().forEach((t) => t.stop());
    if (this._ctx && this._ctx.state !== "closed") await this._ctx.close();
    this._ctx = this._mic = this._playback = this._stream = null;
  }

  _onMessage(e) {
    if (typeof e.data !== "string") {
      this._playback?.port.postMessage(e.data, [e.data]);
      return;
    }
    const frame = JSON.parse(e.data);
    switch (frame.type) {
      case "session.started":
        this.sessionId = frame.session_id;
        if (this.audio) this._ws.send(JSON.stringify({ type: "audio.start", input_sample_rate: RATE, output_sample_rate: RATE }));
        else this._connecting?.resolve();
        break;
      case "audio.started": this._connecting?.resolve(); break;
      case "state": this._setState(frame.state); break;
      case "user.turn": this._emit("user_turn", frame.text); break;
      case "agent.delta": this._emit("agent_delta", frame.text); break;
      case "agent.reply": this._emit("agent_reply", frame.text, frame.timings); break;
      case "agent.say": this._emit("agent_reply", frame.text); break;
      case "agent.filler": this._emit("filler", frame.text); break;
      case "playback.clear": this._playback?.port.postMessage("clear"); break;
      case "user.interrupted": this._emit("interrupted", frame.heard_prefix); break;
      case "error":
        if (this._connecting && frame.severity !== "warn") this._connecting.reject(new Error(frame.message));
        this._emit("error", frame);
        break;
      case "session.ended":
        if (this.state !== "ended") { this._emit("ended", frame.reason); this._setState("ended"); }
        break;
    }
  }

  async _onClose(e) {
    await this._closeAudio();
    this._ws = null;
    if (this.state !== "ended") this._emit("ended", e.reason || `closed (${e.code})`);
    this._setState("ended");
  }
}
