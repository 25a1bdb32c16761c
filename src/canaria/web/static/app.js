/* canaria dashboard: one live feed (fetch-streamed server-sent events), drawn with hand-written SVG.
 * The token is asked once, kept in sessionStorage (this tab only) and sent only as a bearer header. */
"use strict";

const TOKEN_KEY = "canaria.token";
const LANG_KEY = "canaria.lang";
const S = {
  info: null, lang: "en", text: {}, snap: null, rollouts: [], viewing: null,
  statusAt: 0, streamAbort: null, customKey: null, loadId: Math.random().toString(36).slice(2),
};
window.__canariaLoadId = S.loadId; // tests check the page was never reloaded

const $ = (id) => document.getElementById(id);
const C = CanariaCharts;

// ------------------------------------------------------------------ text
function tr(key, params) {
  let s = S.text[key] || key;
  for (const [k, v] of Object.entries(params || {})) s = s.split("{" + k + "}").join(String(v));
  return s;
}

async function setLang(lang) {
  const res = await fetch(`/api/v1/i18n/${lang}`, { headers: readHeaders() });
  if (!res.ok) return;
  S.text = await res.json();
  S.lang = lang;
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = tr(node.dataset.i18n);
  for (const b of document.querySelectorAll(".lang button")) b.classList.toggle("on", b.dataset.lang === lang);
  renderWho();
  renderAll();
}

// ------------------------------------------------------------------ http
function token() { return sessionStorage.getItem(TOKEN_KEY); }
function readHeaders() {
  const t = token();
  return t && S.info && S.info.auth.read_token_required ? { Authorization: "Bearer " + t } : {};
}

async function api(path, options) {
  const opts = options || {};
  const headers = Object.assign({ Accept: "application/json" }, opts.headers || readHeaders());
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method: opts.method || "GET", headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  } catch (e) {  // the server is gone or restarting: an answer callers can read, never an unhandled rejection
    return { status: 0, ok: false, data: null };
  }
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, ok: res.ok, data };
}

// ------------------------------------------------------------------ live feed
async function connect() {
  if (S.streamAbort) S.streamAbort.abort();
  const abort = new AbortController();
  S.streamAbort = abort;
  const q = S.viewing ? `?rollout_id=${encodeURIComponent(S.viewing)}` : "";
  setConn("connecting");
  try {
    const res = await fetch("/api/v1/stream" + q, { headers: readHeaders(), signal: abort.signal });
    if (res.status === 401) { setConn("locked"); await askReadToken(); return retry(abort); }
    if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
    setConn("live");
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        onMessage(buf.slice(0, cut));
        buf = buf.slice(cut + 2);
      }
    }
  } catch (e) {
    if (abort.signal.aborted) return;
  }
  retry(abort);
}

function retry(abort) {
  if (abort.signal.aborted) return;
  setConn("reconnecting");
  setTimeout(() => { if (!abort.signal.aborted) connect(); }, 1500);
}

function onMessage(chunk) {
  let event = "message", data = "";
  for (const line of chunk.split("\n")) {
    if (line.startsWith("event: ")) event = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (!data) return;
  const payload = JSON.parse(data);
  if (event === "snapshot") {
    S.snap = payload;
    S.statusAt = Date.now();
    loadHistory();
  } else if (event === "update" && S.snap) {
    S.snap.windows.push(...payload.windows);
    S.snap.verdicts.push(...payload.verdicts);
    S.snap.events.push(...payload.events);
    const before = S.snap.rollout ? S.snap.rollout.phase : null;
    S.snap.status = payload.status;
    S.snap.rollout = Object.assign(S.snap.rollout || {}, payload.rollout);
    if (before !== S.snap.rollout.phase) loadHistory();
    S.statusAt = Date.now();
  }
  renderAll();
}

function setConn(state) {
  const node = $("conn");
  node.dataset.state = state;
  node.dataset.i18n = "web.conn." + state;
  node.textContent = tr("web.conn." + state);
}

async function loadHistory() {
  const r = await api("/api/v1/rollouts?limit=30");
  if (r.ok) { S.rollouts = r.data.rollouts; renderHistory(); }
}

// ------------------------------------------------------------------ rendering
const num = (v, unit) => (v === null || v === undefined ? "–" : C.fmt(v) + (unit || ""));
const phaseText = (p) => (p === "none" ? tr("web.no_rollout") : tr("phase." + p));

function renderAll() {
  if (!S.info || !S.snap) return;
  $("service").textContent = S.info.service;
  const st = S.snap.status;
  const phase = $("phase");
  phase.textContent = phaseText(st.phase);
  phase.dataset.phase = st.phase;
  $("viewing").classList.toggle("hidden", !S.viewing);
  C.gauge($("gauge"), st.traffic.control, st.traffic.canary, { control: tr("web.control"), canary: tr("web.canary") });
  $("split-control").textContent = C.fmt(st.traffic.control) + "%";
  $("split-canary").textContent = C.fmt(st.traffic.canary) + "%";
  renderStages(st);
  renderVerdict();
  renderLive();
  renderCharts();
  renderEvents();
  renderHistory();
  renderButtons(st);
}

function renderStages(st) {
  const list = $("stages");
  list.textContent = "";
  const current = st.stage ? st.stage.index : -1;
  const ended = S.snap.rollout && !S.snap.rollout.active;
  S.info.stages.forEach((stage, i) => {
    const li = document.createElement("li");
    li.textContent = `${C.fmt(stage.traffic)}%`;
    if (stage.approval) {
      const note = document.createElement("small");
      note.textContent = tr("web.stage.approval");
      li.appendChild(note);
    }
    li.className = i < current ? "done" : i === current ? (ended ? "current ended" : "current") : "";
    list.appendChild(li);
  });
  $("stage-now").textContent = st.stage ? tr("web.stage.of", { n: st.stage.number, total: st.stage.total,
    traffic: C.fmt(st.stage.traffic) }) : "–";
  $("next-check").textContent = st.next_checkpoint ? C.clock(st.next_checkpoint) : "–";
  $("started").textContent = st.started_at ? C.clock(st.started_at) : "–";
  tickHold();
}

function tickHold() {
  const st = S.snap && S.snap.status;
  const node = $("hold-left");
  if (!st || !st.stage) { node.textContent = "–"; return; }
  if (st.phase === "awaiting_approval") { node.textContent = tr("web.stage.waiting_approval"); return; }
  if (st.phase === "paused") { node.textContent = tr("phase.paused"); return; }
  if (!S.snap.rollout || !S.snap.rollout.active) { node.textContent = "–"; return; }
  const left = Math.max(0, st.stage.hold_left_s - (Date.now() - S.statusAt) / 1000);
  const m = Math.floor(left / 60), s = Math.floor(left % 60);
  node.textContent = left > 0 ? `${m}:${String(s).padStart(2, "0")}` : tr("web.stage.hold_done");
}

function renderVerdict() {
  const v = S.snap.verdicts[S.snap.verdicts.length - 1];
  const d = $("decision");
  d.textContent = v ? v.decision : "–";
  d.dataset.decision = v ? v.decision : "";
  $("score").textContent = v ? v.score : "–";
  $("verdict-sentence").textContent = v && v.sentence ? (v.sentence[S.lang] || v.sentence.en || "") : "";
  const list = $("reasons");
  list.textContent = "";
  if (!v) return;
  if (!v.reasons.length) {
    const li = document.createElement("li");
    li.textContent = tr("web.verdict.clean");
    list.appendChild(li);
  }
  for (const r of v.reasons) {
    const li = document.createElement("li");
    li.className = "sev-" + r.severity;
    li.textContent = (r.text && r.text[S.lang]) || r.message;
    list.appendChild(li);
  }
}

function renderLive() {
  const w = S.snap.windows[S.snap.windows.length - 1];
  const totals = { control: 0, canary: 0 };
  for (const win of S.snap.windows) { totals.control += win.control.requests; totals.canary += win.canary.requests; }
  for (const variant of ["control", "canary"]) {
    const row = $("live-" + variant);
    while (row.children.length > 1) row.removeChild(row.lastChild);
    const s = w ? w[variant] : {};
    const cells = [s.requests, num(s.error_rate_pct, "%"), num(s.p50_ms, " ms"), num(s.p95_ms, " ms"),
      num(s.p99_ms, " ms"), num(s.rps), num(s.memory_pct, "%"), num(s.cpu_pct, "%"), totals[variant]];
    cells.forEach((value, i) => {
      const td = document.createElement("td");
      td.textContent = value === undefined || value === null ? "–" : String(value);
      td.dataset.testid = `live-${variant}-${["requests", "error", "p50", "p95", "p99", "rps", "memory", "cpu", "total"][i]}`;
      row.appendChild(td);
    });
  }
  $("window-info").textContent = w ? `#${w.index + 1} · ${C.clock(w.start)}–${C.clock(w.end)} · ` +
    `${C.fmt(w.duration_s)} s · ${tr("web.canary")} ${C.fmt(w.canary_weight)}%` : tr("web.no_data");
}

function series(field, variant) {
  return S.snap.windows.map((w) => [w.end, w[variant][field]]);
}

function guard(metric) {
  const g = S.info.guardrails.find((x) => x.metric === metric && x.action === "rollback");
  return g ? [{ y: g.max, label: `NO-GO > ${g.max}` }] : [];
}

function renderCharts() {
  const empty = tr("web.no_data");
  const ctl = tr("web.control"), can = tr("web.canary_short");
  C.lineChart($("chart-errors"), { empty, thresholds: guard("error_rate_pct"), series: [
    { name: ctl, cls: "control", points: series("error_rate_pct", "control") },
    { name: can, cls: "canary", points: series("error_rate_pct", "canary") }] });
  const lat = [];
  for (const [q, cls] of [["p50_ms", "q50"], ["p95_ms", "q95"], ["p99_ms", "q99"]]) {
    lat.push({ name: `${ctl} ${q.slice(0, 3).toUpperCase()}`, cls: cls, dashed: true, points: series(q, "control") });
    lat.push({ name: `${can} ${q.slice(0, 3).toUpperCase()}`, cls: cls, points: series(q, "canary") });
  }
  C.lineChart($("chart-latency"), { empty, series: lat, fitData: true, thresholds: guard("p95_ms"), legend: [
    { name: "P50", cls: "q50" }, { name: "P95", cls: "q95" }, { name: "P99", cls: "q99" },
    { name: can, cls: "neutral" }, { name: ctl, cls: "neutral", dashed: true }] });
  C.lineChart($("chart-rps"), { empty, series: [
    { name: ctl, cls: "control", points: series("rps", "control") },
    { name: can, cls: "canary", points: series("rps", "canary") }] });
  renderCustom(empty, ctl, can);
  const marks = S.snap.events.filter((e) => /stage_advanced|approved|manual_promote|paused|resumed|rollback_started|promotion_finished/.test(e.kind))
    .map((e) => ({ t: e.at, cls: "ev-" + e.kind, label: `${C.clock(e.at)} ${e.kind} (${e.actor})` }));
  C.lineChart($("chart-score"), { empty, yMin: 0, yMax: 100, markers: marks,
    thresholds: [{ y: S.info.pass_mark || 80, label: tr("web.score.pass") }],
    series: [{ name: tr("web.score"), cls: "score", points: S.snap.verdicts.map((v) => [v.at, v.score]) }],
    dots: S.snap.verdicts.filter((v, i, all) => i === 0 || all[i - 1].decision !== v.decision)
      .map((v) => ({ t: v.at, y: v.score, cls: "d-" + v.decision, label: `${v.decision} ${v.score}` })) });
}

function renderCustom(empty, ctl, can) {
  const keys = new Set();
  for (const w of S.snap.windows) for (const v of ["control", "canary"]) Object.keys(w[v].custom || {}).forEach((k) => keys.add(k));
  const select = $("custom-metric");
  const sorted = [...keys].sort();
  if (!S.customKey || !keys.has(S.customKey)) S.customKey = sorted.find((k) => /recommend/.test(k)) || sorted[0] || null;
  if (select.options.length !== sorted.length || [...select.options].some((o, i) => o.value !== sorted[i])) {
    select.textContent = "";
    for (const k of sorted) { const o = document.createElement("option"); o.value = k; o.textContent = k; select.appendChild(o); }
  }
  select.value = S.customKey || "";
  const key = S.customKey;
  const pts = (variant) => S.snap.windows.map((w) => [w.end, key && w[variant].custom ? (w[variant].custom[key] ?? null) : null]);
  C.lineChart($("chart-custom"), { empty: key ? empty : tr("web.custom.none"), series: key ? [
    { name: ctl, cls: "control", points: pts("control") }, { name: can, cls: "canary", points: pts("canary") }] : [] });
}

function renderEvents() {
  const list = $("events");
  list.textContent = "";
  const acked = new Set(S.snap.events.filter((e) => e.kind === "acknowledged").map((e) => e.data.event_id));
  for (const e of [...S.snap.events].reverse().slice(0, 200)) {
    const li = document.createElement("li");
    li.className = "sev-" + e.severity;
    li.dataset.kind = e.kind;
    const time = document.createElement("time");
    time.textContent = C.clock(e.at);
    const kind = document.createElement("b");
    kind.textContent = tr("web.event." + e.kind) === "web.event." + e.kind ? e.kind : tr("web.event." + e.kind);
    const msg = document.createElement("span");
    msg.textContent = ((e.texts && e.texts[S.lang]) || e.message).split("\n")[0];
    const who = document.createElement("i");
    who.textContent = e.actor;
    li.append(time, kind, msg, who);
    if ((e.severity === "warning" || e.severity === "critical") && e.kind !== "acknowledged") {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link ack";
      b.textContent = acked.has(e.id) ? tr("web.acked") : tr("web.action.ack");
      b.disabled = acked.has(e.id);
      b.addEventListener("click", () => act("ack", { event_id: e.id }));
      li.appendChild(b);
    }
    list.appendChild(li);
  }
}

function renderHistory() {
  const body = $("history");
  body.textContent = "";
  // the live feed is fresher than the list: its last update may arrive when the list can no longer be
  // fetched (the demo's dashboard stops as soon as its rollout has ended)
  const current = S.snap && S.snap.rollout;
  for (const listed of S.rollouts) {
    const r = current && current.rollout_id === listed.rollout_id ? Object.assign({}, listed,
      { phase: current.phase, outcome: current.outcome, active: current.active }) : listed;
    const tr_ = document.createElement("tr");
    const id = document.createElement("td");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "link";
    open.textContent = r.rollout_id;
    open.addEventListener("click", () => view(r.active ? null : r.rollout_id));
    id.appendChild(open);
    const started = document.createElement("td");
    started.textContent = C.dateTime(r.created_at);
    const outcome = document.createElement("td");
    outcome.textContent = r.active ? phaseText(r.phase) : tr("web.outcome." + (r.outcome || r.phase));
    outcome.className = "outcome-" + (r.outcome || r.phase);
    const reports = document.createElement("td");
    for (const rep of r.reports) {
      const a = document.createElement("a");
      a.href = rep.url;
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = rep.format.toUpperCase();
      a.title = rep.name;
      reports.appendChild(a);
    }
    if (!r.reports.length) reports.textContent = "–";
    tr_.append(id, started, outcome, reports);
    body.appendChild(tr_);
  }
}

// which action applies in which phase: a button that cannot work is never offered
const APPLIES = {
  approve: ["awaiting_approval"],
  promote: ["progressing"],
  pause: ["progressing", "awaiting_approval"],
  resume: ["paused"],
  rollback: ["progressing", "awaiting_approval", "paused", "promoting"],
};

function renderBanner(st) {
  const banner = $("banner");
  const rolledBack = st.phase === "rolled_back" || st.phase === "failed";
  banner.classList.toggle("hidden", !rolledBack);
  banner.dataset.phase = st.phase;
  const reason = (st.reason_texts && st.reason_texts[S.lang]) || st.reason || "";
  if (rolledBack) banner.textContent = tr("web.banner." + st.phase, { reason: reason });
}

function renderButtons(st) {
  const live = S.snap.rollout && S.snap.rollout.active && !S.viewing;
  renderBanner(st);
  for (const b of document.querySelectorAll("button.act")) {
    b.disabled = !live || !(APPLIES[b.dataset.action] || []).includes(st.phase);
    const a = b.dataset.action;
    b.classList.toggle("suggested", live && ((a === "approve" && st.phase === "awaiting_approval") ||
      (a === "resume" && st.phase === "paused")));
  }
  $("action-hint").textContent = !S.info.auth.actions_enabled ? tr("web.actions.disabled")
    : live ? tr("web.actions.hint") : tr("web.actions.none");
}

function view(rolloutId) {
  S.viewing = rolloutId;
  S.snap = null;
  connect();
}

// ------------------------------------------------------------------ start
async function main() {
  const r = await api("/api/v1/info");
  if (r.status === 401) {
    S.info = { auth: { read_token_required: true } };
    await askReadToken();
    return main();
  }
  S.info = r.data;
  for (const b of document.querySelectorAll("button.act")) b.addEventListener("click", () => act(b.dataset.action));
  for (const b of document.querySelectorAll(".lang button")) b.addEventListener("click", () => setLang(b.dataset.lang));
  $("forget").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); renderWho(); });
  $("back-live").addEventListener("click", () => view(null));
  $("custom-metric").addEventListener("change", (ev) => { S.customKey = ev.target.value; renderCharts(); });
  await setLang(localStorage.getItem(LANG_KEY) || S.info.lang || "en");
  renderWho();
  setInterval(tickHold, 1000);
  connect();
}

main();
