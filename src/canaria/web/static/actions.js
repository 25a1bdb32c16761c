/* canaria dashboard: the token prompt, confirmations and the action calls (loaded before app.js;
 * uses its globals at call time). The token goes only into an Authorization header, never a cookie. */
"use strict";

function modal({ title, text, askToken, askReason, reasonRequired }) {
  return new Promise((resolve) => {
    $("modal-title").textContent = title;
    $("modal-text").textContent = text || "";
    $("token-field").classList.toggle("hidden", !askToken);
    $("reason-field").classList.toggle("hidden", !askReason);
    $("token-input").value = "";
    $("reason-input").value = "";
    $("reason-input").required = !!reasonRequired;
    $("modal").classList.remove("hidden");
    (askToken ? $("token-input") : askReason ? $("reason-input") : $("modal-ok")).focus();
    const done = (value) => {
      $("modal").classList.add("hidden");
      $("modal-form").onsubmit = null;
      $("modal-cancel").onclick = null;
      resolve(value);
    };
    $("modal-form").onsubmit = (ev) => {
      ev.preventDefault();
      done({ token: $("token-input").value.trim(), reason: $("reason-input").value.trim() });
    };
    $("modal-cancel").onclick = () => done(null);
  });
}

async function askReadToken() {
  const got = await modal({ title: tr("web.token.read_title"), text: tr("web.token.read_text"), askToken: true });
  if (got && got.token) {
    sessionStorage.setItem(TOKEN_KEY, got.token);
    const who = await api("/api/v1/whoami", { headers: { Authorization: "Bearer " + got.token } });
    if (who.ok) sessionStorage.setItem(TOKEN_KEY + ".name", who.data.name);
  }
  renderWho();
}

function renderWho() {
  const t = token();
  $("who").textContent = t ? tr("web.token.set", { name: sessionStorage.getItem(TOKEN_KEY + ".name") || "…" }) : tr("web.token.none");
  $("forget").classList.toggle("hidden", !t);
}

function say(kind, textContent) {
  const m = $("message");
  m.textContent = textContent;
  m.className = "message " + kind;
  m.dataset.kind = kind;
}

async function act(action, extra) {
  const rollout = S.snap && S.snap.rollout;
  if (!rollout) return;
  let secret = token();
  if (secret === null) {
    const got = await modal({ title: tr("web.token.title"), text: tr("web.token.text"), askToken: true });
    if (got === null) return;
    secret = got.token;
  }
  const needsReason = action === "rollback";
  const confirmed = action === "ack" ? { reason: "" } : await modal({
    title: tr("web.confirm.title", { action: tr("web.action." + action) }),
    text: tr("web.confirm." + action, { service: S.info.service, traffic: C.fmt(S.snap.status.traffic.canary) }),
    askReason: true, reasonRequired: needsReason });
  if (confirmed === null) return;
  const body = action === "ack" ? extra : { reason: confirmed.reason };
  const headers = { Accept: "application/json" };
  if (secret) headers.Authorization = "Bearer " + secret;
  say("pending", tr("web.sending", { action: tr("web.action." + action) }));
  const r = await api(`/api/v1/rollouts/${encodeURIComponent(rollout.rollout_id)}/${action}`, { method: "POST", headers, body });
  const detail = r.data && r.data.error ? r.data.error.message : "";
  if (r.ok) {
    sessionStorage.setItem(TOKEN_KEY, secret);
    sessionStorage.setItem(TOKEN_KEY + ".name", r.data.actor);
    const said = (r.data.texts && r.data.texts[S.lang]) || r.data.message;
    say("ok", tr("web.done", { action: tr("web.action." + action), actor: r.data.actor, message: said }));
  } else if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(TOKEN_KEY + ".name");
    say("error", tr(secret ? "web.err.401_bad" : "web.err.401_none") + " " + tr("web.err.nothing"));
  } else if (r.status === 403) {
    say("error", tr("web.err.403") + " " + detail);
  } else if (r.status === 409) {
    sessionStorage.setItem(TOKEN_KEY, secret);
    say("error", tr("web.err.409") + " " + detail);
  } else if (r.status === 422) {
    say("error", tr("web.err.422") + " " + detail);
  } else {
    say("error", tr("web.err.other", { status: r.status }) + " " + detail);
  }
  renderWho();
}

