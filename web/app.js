// The candidate's page: a form, then the interview in a LiveKit room, then the report.
// Plain ES modules on livekit-client (served from web/node_modules by the playground).
// The protocol it speaks is the worker's (docs/CONTRACTS.md): RPC methods
// interview.skip_stage / interview.end / interview.state on the agent participant, the
// data topic interview.state, the agent's attributes (lk.agent.state, interview.id,
// interview.mode), LiveKit's transcription text streams (lk.transcription) for captions
// and its text input (lk.chat) for typed answers.
import {
  ConnectionState,
  DisconnectReason,
  Room,
  RoomEvent,
  Track,
} from "/vendor/livekit-client.esm.mjs";

const STATE_TOPIC = "interview.state";
const CUES_TOPIC = "interview.cues";
const STAGES = {
  greeting: "Welcome",
  introduction: "Introduction",
  experience: "Your experience",
  technical: "Technical questions",
  behavioral: "Behavioural questions",
  candidate_questions: "Your questions",
  closing: "Closing",
};
const SPEAKING = {
  initializing: "The interviewer is getting ready…",
  listening: "Your turn: the interviewer is listening.",
  thinking: "The interviewer is thinking…",
  speaking: "The interviewer is speaking.",
};
const CONNECTION = {
  [ConnectionState.Connecting]: "Connecting…",
  [ConnectionState.Connected]: "Connected",
  [ConnectionState.Reconnecting]: "Connection lost: reconnecting…",
  [ConnectionState.SignalReconnecting]: "Connection lost: reconnecting…",
  [ConnectionState.Disconnected]: "Disconnected",
};
const KEY = "interview";
const CAPTIONS = "interview-captions";

const $ = (id) => document.getElementById(id);
const page = {
  room: null,
  session: null, // {url, room, identity, ticket, interviewId, done}
  agent: null,
  stage: null,
  status: null,
  micOn: false,
  leaving: false,
  segments: new Map(),
  levelTimer: null,
};

// ---------------------------------------------------------------- small helpers

function show(id) {
  for (const s of ["access", "setup", "interview", "done"]) $(s).hidden = s !== id;
}

function notice(text) {
  const el = $("notice");
  el.textContent = text || "";
  el.hidden = !text;
}

function remember(patch) {
  page.session = { ...(page.session || {}), ...patch };
  sessionStorage.setItem(KEY, JSON.stringify(page.session));
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  let data = {};
  try {
    data = await r.json();
  } catch {
    data = {};
  }
  return { ok: r.ok, status: r.status, data };
}

function caption(id, who, text, { final = true, typed = false } = {}) {
  let seg = page.segments.get(id);
  if (!seg) {
    const p = document.createElement("p");
    p.className = `caption ${who}`;
    const name = document.createElement("span");
    name.className = "who";
    name.textContent = who === "you" ? (typed ? "You (typed): " : "You: ") : "Interviewer: ";
    const body = document.createElement("span");
    body.className = "text";
    p.append(name, body);
    $("captions").append(p);
    seg = { p, body };
    page.segments.set(id, seg);
  }
  seg.body.textContent = text;
  seg.p.dataset.final = String(final);
  $("captions").scrollTop = $("captions").scrollHeight;
  if (final) keepCaption(id, who, text, typed);
}

// the conversation so far survives a reload of the page (this tab only)
function keepCaption(id, who, text, typed) {
  let kept = [];
  try {
    kept = JSON.parse(sessionStorage.getItem(CAPTIONS) || "[]");
  } catch {
    kept = [];
  }
  const at = kept.findIndex((c) => c.id === id);
  const entry = { id, who, text, typed };
  if (at >= 0) kept[at] = entry;
  else kept.push(entry);
  sessionStorage.setItem(CAPTIONS, JSON.stringify(kept.slice(-300)));
}

function restoreCaptions() {
  try {
    for (const c of JSON.parse(sessionStorage.getItem(CAPTIONS) || "[]")) {
      caption(c.id, c.who, c.text, { typed: c.typed });
    }
  } catch {
    sessionStorage.removeItem(CAPTIONS);
  }
}

function visibleText(raw) {
  // the worker sends plain text; JSON lines (timed transcripts) are read for their text
  if (!raw.trimStart().startsWith("{")) return raw;
  try {
    return raw.trim().split("\n").map((l) => JSON.parse(l).text || "").join("");
  } catch {
    return raw;
  }
}

// ---------------------------------------------------------------- the interview's state

function applyState(s) {
  if (!s || typeof s !== "object") return;
  if (s.status === "error") {
    notice(`The interview could not start: ${s.message || s.code}.`);
    return;
  }
  if (s.interview_id && s.interview_id !== page.session?.interviewId) {
    remember({ interviewId: s.interview_id });
  }
  if (s.stage) {
    page.stage = s.stage;
    $("stage").textContent = STAGES[s.stage] || s.stage;
  }
  if (Number.isInteger(s.stage_index) && Number.isInteger(s.stage_count) && s.stage_count > 0) {
    $("progress").max = s.stage_count;
    $("progress").value = s.stage_index + 1;
    $("progress").setAttribute(
      "aria-valuetext",
      `stage ${s.stage_index + 1} of ${s.stage_count}`,
    );
  }
  if (s.status) page.status = s.status;
  const over = s.status === "ended" || s.status === "saved" || s.status === "ending";
  $("skip").disabled = over;
  $("end").disabled = over;
  if (s.status === "ended" || s.status === "saved") finished(s.status === "saved");
}

function finished(saved) {
  show("done");
  if (!saved) {
    $("saved-status").textContent = "Saving your interview…";
    return;
  }
  $("saved-status").textContent = "Your interview is saved.";
  remember({ done: true });
  if (page.room) {
    page.leaving = true;
    page.room.disconnect().then(() => {
      $("connection").textContent = "Interview over";
    });
  }
  loadReport(page.session?.interviewId);
}

async function loadReport(interviewId) {
  if (!interviewId) return;
  const url = `/report/${encodeURIComponent(interviewId)}`;
  for (let attempt = 0; attempt < 30; attempt++) {
    const r = await fetch(url, { credentials: "same-origin" });
    if (r.ok) {
      $("report").src = url;
      $("report").hidden = false;
      $("report-link").href = url;
      $("report-link").hidden = false;
      $("saved-status").textContent = "Your interview is saved. Your report:";
      return;
    }
    if (r.status !== 404 && r.status !== 503) break;
    await new Promise((done) => setTimeout(done, 1000));
  }
  $("saved-status").textContent = "Your interview is saved; the report is not ready yet.";
}

async function rpc(method, payload = {}) {
  if (!page.room || !page.agent) throw new Error("the interviewer is not here");
  const answer = await page.room.localParticipant.performRpc({
    destinationIdentity: page.agent.identity,
    method,
    payload: JSON.stringify(payload),
  });
  return JSON.parse(answer);
}

// ---------------------------------------------------------------- the room

function watchAgent(p) {
  page.agent = p;
  notice("");
  $("continue").hidden = true;
  const attrs = p.attributes || {};
  $("speaking").textContent = SPEAKING[attrs["lk.agent.state"]] || SPEAKING.initializing;
  if (attrs["interview.mode"] === "text") {
    // a typed interview: the interviewer neither listens nor speaks
    $("mode-note").hidden = false;
    $("mode-note").textContent = "This interview is typed: type your answers below.";
    $("mute").disabled = true;
    if (page.micOn) {
      page.micOn = false;
      page.room?.localParticipant.setMicrophoneEnabled(false).catch(() => {});
    }
  }
  if (attrs["interview.id"]) remember({ interviewId: attrs["interview.id"] });
  rpc("interview.state").then(applyState).catch(() => {});
}

function listenToAgent(track) {
  const el = track.attach();
  el.id = "agent-audio";
  document.body.append(el);
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track.mediaStreamTrack]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const meter = $("agent-level");
  clearInterval(page.levelTimer);
  page.levelTimer = setInterval(() => {
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    const level = Math.min(1, Math.sqrt(sum / samples.length) * 5);
    meter.value = level;
    meter.dataset.peak = String(Math.max(Number(meter.dataset.peak || 0), level));
  }, 100);
}

async function connect({ url, token }) {
  const room = new Room({
    adaptiveStream: false,
    dynacast: false,
    disconnectOnPageLeave: false,
    // the browser levels the microphone and takes out echo and noise: the interviewer
    // applies no processing of its own to what it hears (docs/CONTRACTS.md)
    audioCaptureDefaults: { autoGainControl: true, echoCancellation: true, noiseSuppression: true },
  });
  page.room = room;
  page.leaving = false;
  room
    .on(RoomEvent.ConnectionStateChanged, (state) => {
      $("connection").textContent = CONNECTION[state] || state;
    })
    .on(RoomEvent.ParticipantConnected, (p) => {
      if (p.isAgent) watchAgent(p);
    })
    .on(RoomEvent.ParticipantDisconnected, (p) => {
      if (!p.isAgent || p !== page.agent) return;
      page.agent = null;
      if (page.status === "ended" || page.status === "saved") return;
      $("speaking").textContent = "The interviewer is not here.";
      notice("The interviewer lost its connection. What you said so far is saved.");
      $("continue").hidden = false;
    })
    .on(RoomEvent.ParticipantAttributesChanged, (changed, p) => {
      if (!p.isAgent) return;
      if (p !== page.agent) watchAgent(p);
      if ("lk.agent.state" in changed) {
        $("speaking").textContent = SPEAKING[changed["lk.agent.state"]] || "";
      }
      if (changed["interview.mode"] === "text") watchAgent(p);
      if (changed["interview.id"]) remember({ interviewId: changed["interview.id"] });
    })
    .on(RoomEvent.TrackSubscribed, (track, _pub, p) => {
      if (track.kind === Track.Kind.Audio && p.isAgent) listenToAgent(track);
    })
    .on(RoomEvent.DataReceived, (payload, _p, _kind, topic) => {
      if (topic !== STATE_TOPIC && topic !== CUES_TOPIC) return;
      try {
        const message = JSON.parse(new TextDecoder().decode(payload));
        if (topic === CUES_TOPIC) showCues(message);
        else applyState(message);
      } catch {
        // not ours to read
      }
    })
    .on(RoomEvent.AudioPlaybackStatusChanged, () => {
      $("enable-audio").hidden = room.canPlaybackAudio;
    })
    .on(RoomEvent.Disconnected, (reason) => {
      if (page.leaving || page.status === "saved") return;
      if (reason === DisconnectReason.ROOM_DELETED) {
        // the operator stopped the server: the worker saves the interview as it stands
        notice("The interview was stopped on the server. What you said so far is saved.");
        remember({ done: true });
        return;
      }
      notice("You are disconnected from the interview.");
      $("rejoin").hidden = false;
    });
  room.registerTextStreamHandler("lk.transcription", async (reader, from) => {
    const attrs = reader.info.attributes || {};
    const id = attrs["lk.segment_id"] || reader.info.id;
    const who = from.identity === room.localParticipant.identity ? "you" : "interviewer";
    let text = "";
    for await (const chunk of reader) {
      text += chunk;
      caption(id, who, visibleText(text), { final: false });
    }
    // the candidate's words come as interim streams then a final one; the interviewer's
    // reply is one stream, complete when it closes
    const final = who === "interviewer" || attrs["lk.transcription_final"] === "true";
    caption(id, who, visibleText(text), { final });
  });

  show("interview");
  $("rejoin").hidden = true;
  await room.connect(url, token);
  $("connection").textContent = "Connected";
  room.startAudio().catch(() => {});
  $("enable-audio").hidden = room.canPlaybackAudio;
  for (const p of room.remoteParticipants.values()) {
    if (p.isAgent) watchAgent(p);
  }
  if (page.agent?.attributes?.["interview.mode"] === "text") return;
  try {
    await room.localParticipant.setMicrophoneEnabled(true);
    page.micOn = true;
    $("mute").disabled = false;
  } catch (e) {
    micRefused(e);
  }
}

function micRefused(e) {
  page.micOn = false;
  $("mute").disabled = true;
  const why = e && e.name === "NotAllowedError" ? "was not allowed" : "is not available";
  notice(`Your microphone ${why}. You can type your answers below instead.`);
  $("say").focus();
}

// ---------------------------------------------------------------- start, rejoin, continue

async function start(event) {
  event.preventDefault();
  const form = $("setup-form");
  const error = $("form-error");
  error.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  const data = {
    candidate_name: form.candidate_name.value.trim(),
    job_role: form.job_role.value.trim(),
    experience_level: form.experience_level.value,
    resume_text: form.resume_text.value,
    job_description: form.job_description.value,
    consent: form.consent.checked,
    record_audio: form.record_audio.checked,
  };
  const missing = !data.candidate_name
    ? ["candidate_name", "Please enter your name."]
    : !data.job_role
      ? ["job_role", "Please enter a job title."]
      : !data.consent
        ? ["consent", "Please agree that the interview is recorded to start it."]
        : null;
  if (missing) return formError(missing[1], missing[0]);
  $("start").disabled = true;
  try {
    const r = await post("/api/interviews", data);
    if (!r.ok) return formError(r.data.error || `The server said ${r.status}.`, r.data.field);
    sessionStorage.removeItem(CAPTIONS);
    remember({ ...r.data, interviewId: null, done: false });
    await connect(r.data);
  } catch (e) {
    formError(`Could not start: ${e.message || e}`);
    show("setup");
  } finally {
    $("start").disabled = false;
  }
}

function formError(text, field) {
  $("form-error").textContent = text;
  const el = field && $(field);
  if (el) {
    el.setAttribute("aria-invalid", "true");
    el.focus();
  }
}

async function rejoin() {
  const s = page.session;
  const r = await post("/api/rejoin", { room: s.room, ticket: s.ticket });
  if (!r.ok) {
    sessionStorage.removeItem(KEY);
    page.session = null;
    show("setup");
    formError(r.data.error || "That interview can no longer be joined.");
    return;
  }
  remember(r.data);
  await connect(r.data);
}

async function callBack() {
  $("continue").disabled = true;
  const s = page.session;
  const r = await post("/api/continue", { room: s.room, ticket: s.ticket });
  $("continue").disabled = false;
  notice(r.ok ? "Calling the interviewer back…" : r.data.error || "Could not call it back.");
}

// ---------------------------------------------------------------- controls

async function say(event) {
  event.preventDefault();
  const input = $("say");
  const text = input.value.trim();
  if (!text || !page.room) return;
  input.value = "";
  caption(`typed-${crypto.randomUUID()}`, "you", text, { typed: true });
  try {
    await page.room.localParticipant.sendText(text, { topic: "lk.chat" });
  } catch {
    notice("Your answer could not be sent; check the connection and send it again.");
    input.value = text;
  }
}

async function toggleMute() {
  const muted = $("mute").getAttribute("aria-pressed") === "true";
  await page.room.localParticipant.setMicrophoneEnabled(muted);
  $("mute").setAttribute("aria-pressed", String(!muted));
  $("mute").textContent = muted ? "Mute" : "Unmute";
}

async function skip() {
  try {
    const s = await rpc("interview.skip_stage", {
      stage: page.stage,
      request_id: crypto.randomUUID(),
    });
    if (!s.ok) notice(s.error === "not_skippable" ? "This stage cannot be skipped." : "Not skipped.");
    applyState(s);
  } catch (e) {
    notice(`Could not skip: ${e.message || e}`);
  }
}

function askEnd() {
  $("confirm-end").showModal();
}

async function endConfirmed() {
  if ($("confirm-end").returnValue !== "yes") return;
  try {
    applyState(await rpc("interview.end", { request_id: crypto.randomUUID() }));
  } catch (e) {
    notice(`Could not end: ${e.message || e}`);
  }
}

function again() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(CAPTIONS);
  location.hash = "";
  location.reload();
}

// ---------------------------------------------------------------- the page opens

async function open() {
  $("setup-form").addEventListener("submit", start);
  $("say-form").addEventListener("submit", say);
  $("mute").addEventListener("click", toggleMute);
  $("skip").addEventListener("click", skip);
  $("end").addEventListener("click", askEnd);
  $("confirm-end").addEventListener("close", endConfirmed);
  $("continue").addEventListener("click", callBack);
  $("rejoin").addEventListener("click", () => rejoin().catch((e) => notice(String(e))));
  $("enable-audio").addEventListener("click", () => page.room?.startAudio());
  $("again").addEventListener("click", again);
  $("access-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const r = await post("/api/access", { code: $("access-code").value });
    if (!r.ok) {
      $("access-error").textContent = r.data.error || "Wrong code.";
      return;
    }
    begin();
  });

  const config = await (await fetch("/api/config", { credentials: "same-origin" })).json();
  const code = new URLSearchParams(location.hash.slice(1)).get("code");
  if (config.access_code && !config.signed_in) {
    if (code) {
      const r = await post("/api/access", { code });
      history.replaceState(null, "", location.pathname);
      if (r.ok) return begin();
    }
    show("access");
    $("access-code").focus();
    return;
  }
  begin();
}

function begin() {
  try {
    page.session = JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    page.session = null;
  }
  if (page.session?.done) {
    show("done");
    $("saved-status").textContent = "Your interview is saved.";
    loadReport(page.session.interviewId);
  } else if (page.session?.room) {
    restoreCaptions();
    rejoin().catch((e) => {
      show("interview");
      notice(`Could not rejoin: ${e.message || e}`);
      $("rejoin").hidden = false;
    });
  } else {
    show("setup");
    $("candidate_name").focus();
  }
}

open();

// The delivery cues of the answer just given (interview.cues): how it was said, never
// what; one line under the captions.
function showCues(cues) {
  if (cues.type !== "answer_cues") return;
  const parts = [];
  if (cues.duration_s != null) {
    const length = `${Math.floor(cues.duration_s / 60)}:${String(Math.round(cues.duration_s % 60)).padStart(2, "0")}`;
    const limit = cues.time_limit_s ? ` of ${Math.round(cues.time_limit_s / 60)} min` : "";
    parts.push(`${length}${limit}`);
  }
  if (cues.words_per_minute != null) parts.push(`${Math.round(cues.words_per_minute)} words a minute`);
  const fillers = Object.values(cues.filler_words || {}).reduce((a, b) => a + b, 0);
  parts.push(fillers ? `${fillers} filler word${fillers === 1 ? "" : "s"}` : "no filler words");
  if (cues.time_boxed) parts.push("ran past its time");
  const line = $("cues");
  line.textContent = `Answer ${cues.answer}: ${parts.join(" · ")}`;
  line.hidden = false;
}
