/* Hand-written SVG charts: no library, no build step, nothing fetched from anywhere else. */
"use strict";

const CanariaCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, attrs) {
    const node = el("text", Object.assign({ x, y }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }

  function clear(svg) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
  }

  // axis tops whose quarters are round numbers; fine enough that the top stays within 1.25x of what it covers
  const STEPS = [1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10];

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const exp = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of STEPS) {
      if (value <= step * exp * (1 + 1e-12)) return step * exp;
    }
    return 10 * exp;
  }

  /** The fewest decimals that print every tick exactly, so no two ticks read the same. */
  function decimals(values) {
    for (let d = 0; d <= 6; d++) {
      if (values.every((v) => Math.abs(parseFloat(v.toFixed(d)) - v) <= 1e-9 * Math.max(1, Math.abs(v)))) return d;
    }
    return 6;
  }

  // time-axis steps in seconds: a demo spans seconds, a rollout hours
  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

  /** Ticks at whole multiples of a round step, at most `most` of them: the labels (to the second) differ. */
  function timeTicks(t0, t1, most) {
    const span = t1 - t0;
    const step = TIME_STEPS.find((s) => span / s <= most) || 86400 * Math.ceil(span / most / 86400);
    const ticks = [];
    for (let t = Math.ceil(t0 / step) * step; t <= t1 + 1e-9; t += step) ticks.push(t);
    return ticks;
  }

  const pad2 = (n) => String(n).padStart(2, "0");

  /** The one time format of the page: local 24-hour HH:MM:SS, from epoch seconds, an ISO string or a Date. */
  function clock(ts) {
    const d = ts instanceof Date ? ts : typeof ts === "string" ? new Date(ts) : new Date(ts * 1000);
    return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  /** The same with the local date in front (YYYY-MM-DD HH:MM:SS), for records of other days. */
  function dateTime(ts) {
    const d = ts instanceof Date ? ts : typeof ts === "string" ? new Date(ts) : new Date(ts * 1000);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${clock(d)}`;
  }

  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
    return String(parseFloat(v.toFixed(digits)));
  }

  /**
   * Line chart. opts: {series: [{name, cls, dashed, points: [[t, y|null], ...]}], yMin, yMax, fitData, thresholds: [{y, label}],
   *                    markers: [{t, cls, label}], dots: [{t, y, cls, label}], empty}
   */
  function lineChart(svg, opts) {
    clear(svg);
    const box = svg.viewBox.baseVal;
    const W = box.width, H = box.height;
    const pad = { l: 48, r: 12, t: 12, b: 38 };
    const iw = W - pad.l - pad.r, ih = H - pad.t - pad.b;
    const all = [];
    for (const s of opts.series) for (const p of s.points) if (p[1] !== null && p[1] !== undefined) all.push(p);
    for (const d of opts.dots || []) all.push([d.t, d.y]);
    const times = [];
    for (const s of opts.series) for (const p of s.points) times.push(p[0]);
    for (const m of opts.markers || []) times.push(m.t);
    if (!times.length) {
      text(svg, W / 2, H / 2, opts.empty || "no data yet", { class: "empty", "text-anchor": "middle" });
      return;
    }
    let t0 = Math.min(...times), t1 = Math.max(...times);
    if (t1 - t0 < 1) { t0 -= 1; t1 += 1; }
    const yMin = opts.yMin !== undefined ? opts.yMin : 0;
    // fitData: scaled to the data. A threshold far above it (a 500 ms guardrail over 20 ms responses) would
    // flatten every line to the floor, so it joins the scale only when near the data, else it is noted at the top.
    // Otherwise (error rate) the threshold is always on the scale: how far from it the lines are is the point.
    const dataTop = all.length ? Math.max(...all.map((p) => p[1])) : null;
    const near = (opts.thresholds || []).filter((th) => !opts.fitData || dataTop === null || th.y <= dataTop * 1.2);
    const top = Math.max(...(dataTop === null ? [] : [dataTop]), ...near.map((th) => th.y), yMin);
    const yMax = opts.yMax !== undefined ? opts.yMax : top > yMin ? yMin + niceMax((top - yMin) * 1.1) : yMin + 1;
    svg.dataset.yMax = String(yMax);
    const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * iw;
    const y = (v) => pad.t + ih - ((Math.min(v, yMax) - yMin) / (yMax - yMin)) * ih;

    const grid = el("g", { class: "grid" }, svg);
    const values = [0, 1, 2, 3, 4].map((i) => yMin + ((yMax - yMin) * i) / 4);
    const digits = decimals(values);
    for (const v of values) {
      el("line", { x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v) }, grid);
      text(grid, pad.l - 6, y(v) + 4, v.toFixed(digits), { "text-anchor": "end", class: "tick y-tick" });
    }
    for (const t of timeTicks(t0, t1, 5)) {
      const px = x(t);
      const anchor = px - pad.l < 28 ? "start" : W - pad.r - px < 28 ? "end" : "middle";
      el("line", { x1: px, x2: px, y1: pad.t + ih, y2: pad.t + ih + 4 }, grid);
      text(grid, px, H - pad.b + 16, clock(t), { "text-anchor": anchor, class: "tick x-tick" });
    }
    for (const th of opts.thresholds || []) {
      if (th.y > yMax) {
        text(svg, W - pad.r - 4, pad.t + 10, `${th.label} ↑`, { "text-anchor": "end", class: "threshold-label above" });
        continue;
      }
      el("line", { x1: pad.l, x2: W - pad.r, y1: y(th.y), y2: y(th.y), class: "threshold" }, svg);
      text(svg, W - pad.r - 4, y(th.y) - 4, th.label, { "text-anchor": "end", class: "threshold-label" });
    }
    for (const m of opts.markers || []) {
      el("line", { x1: x(m.t), x2: x(m.t), y1: pad.t, y2: pad.t + ih, class: "marker " + (m.cls || "") }, svg);
      const label = el("title", {}, el("circle", { cx: x(m.t), cy: pad.t + 4, r: 4, class: "marker-dot " + (m.cls || "") }, svg));
      label.textContent = m.label || "";
    }
    for (const s of opts.series) {
      let d = "";
      let pen = false;
      for (const [t, v] of s.points) {
        if (v === null || v === undefined) { pen = false; continue; }
        d += (pen ? "L" : "M") + x(t).toFixed(1) + "," + y(v).toFixed(1);
        pen = true;
      }
      if (d) el("path", { d, class: "line " + s.cls + (s.dashed ? " dashed" : "") }, svg);
      const last = [...s.points].reverse().find((p) => p[1] !== null && p[1] !== undefined);
      if (last && s.points.length === 1) el("circle", { cx: x(last[0]), cy: y(last[1]), r: 3, class: "point " + s.cls }, svg);
    }
    for (const dot of opts.dots || []) {
      const c = el("circle", { cx: x(dot.t), cy: y(dot.y), r: 5, class: "dot-mark " + (dot.cls || "") }, svg);
      el("title", {}, c).textContent = dot.label || "";
    }
    const legend = el("g", { class: "legend" }, svg);
    let lx = pad.l;
    for (const s of opts.legend || opts.series) {
      el("line", { x1: lx, x2: lx + 18, y1: H - 8, y2: H - 8, class: "line " + s.cls + (s.dashed ? " dashed" : "") }, legend);
      text(legend, lx + 22, H - 4, s.name, { class: "legend-text" });
      lx += 30 + Math.max(30, s.name.length * 6.5);
    }
  }

  /** Semicircle gauge: the canary's share filled from the left, the control's share the rest. */
  function gauge(svg, controlPct, canaryPct, labels) {
    clear(svg);
    const cx = 110, cy = 110, r = 90;
    const point = (frac) => {
      const a = Math.PI * (1 - frac);
      return [cx + r * Math.cos(a), cy - r * Math.sin(a)];
    };
    const arc = (f0, f1, cls) => {
      const [x0, y0] = point(f0), [x1, y1] = point(f1);
      // a piece of a half circle never spans more than 180°: always the small arc, drawn clockwise
      el("path", { d: `M${x0.toFixed(2)},${y0.toFixed(2)} A${r},${r} 0 0 1 ${x1.toFixed(2)},${y1.toFixed(2)}`, class: cls }, svg);
    };
    const canary = Math.max(0, Math.min(100, canaryPct || 0)) / 100;
    arc(0, 1, "gauge-track");
    if (canary < 1) arc(canary, 1, "gauge-control");
    if (canary > 0) arc(0, Math.max(canary, 0.004), "gauge-canary");
    text(svg, cx, cy - 22, `${fmt(canaryPct)}%`, { "text-anchor": "middle", class: "gauge-big" });
    text(svg, cx, cy - 2, labels.canary, { "text-anchor": "middle", class: "gauge-small" });
    text(svg, cx + r, cy + 16, `${labels.control} ${fmt(controlPct)}%`, { "text-anchor": "end", class: "gauge-small" });
  }

  return { lineChart, gauge, fmt, clock, dateTime, niceMax, timeTicks };
})();
