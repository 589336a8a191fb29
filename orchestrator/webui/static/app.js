// BOS live view: a canvas map of every component, coloured by BOS status, kept current
// by the server's event stream (docs/webui.md). Plain JavaScript, no build step.
"use strict";
(() => {
  // Colours by status (the server's Snapshot.statuses); flags in the code's high bits.
  const COLORS = {
    "": "#bdbdbd",
    power_on_pending: "#9ecae1",
    power_on_called: "#2b7bba",
    power_off_pending: "#fdd0a2",
    power_off_gracefully_called: "#fd8d3c",
    power_off_forcefully_called: "#c34a00",
    configuring: "#8e6cc9",
    stable: "#2e9e44",
    failed: "#d62728",
    on_hold: "#e6c229",
  };
  // Colours by rolling state (the server's Snapshot.rolling_states): where each node is in
  // a rolling upgrade, from BOS's record and Slurm's state.
  const ROLLING_COLORS = {
    "": "#dcdcdc",
    staged: "#9e9ac8",
    waiting_for_jobs: "#fdae6b",
    draining: "#e6550d",
    rebooting: "#2b7bba",
    back_in_service: "#2e9e44",
    failed: "#d62728",
  };
  const ROLLING_LABELS = { "": "not in a rolling upgrade", waiting_for_jobs: "waiting for jobs", back_in_service: "back in service" };
  const rollingLabel = (st) => ROLLING_LABELS[st] || st;
  const DELETED = "#f6f6f4";
  // A disabled component (BOS does not act on it: at rest, or taken out) is drawn in a
  // paler shade of its status's colour: half way to white.
  const pale = (hex) => "#" + [1, 3, 5].map((k) => Math.round((parseInt(hex.slice(k, k + 2), 16) + 255) / 2).toString(16).padStart(2, "0")).join("");
  const PALE = Object.fromEntries(Object.entries(COLORS).map(([k, v]) => [k, pale(v)]));
  const F_DISABLED = 16, F_STAGED = 32, F_ERROR = 64, CODE_DELETED = 255;
  const LABEL_H = 14, BLOCK_GAP = 12;

  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const box = document.getElementById("mapbox");

  let statuses = [], rollingStates = [];
  let ids = [], index = new Map(); // id → i
  let codes = new Uint8Array(0), rolling = new Uint8Array(0), px = new Int32Array(0), py = new Int32Array(0);
  // What the map shows: BOS's status ("status") or the rolling upgrade ("rolling").
  let mode = location.hash === "#rolling" ? "rolling" : "status";
  let blocks = []; // {x, y, w, h, label, cols, grid: Int32Array}
  let cell = 8;
  let dirty = new Set(), framePending = false, fullRedraw = false;
  let selected = "";
  let changesSeen = 0, ready = false;
  const errors = [];

  // --- data access with the token, when BOS asks for one -------------------------------
  const tokenKey = "bosToken";
  function headers() {
    const t = sessionStorage.getItem(tokenKey);
    return t ? { Authorization: "Bearer " + t } : {};
  }
  function askToken() {
    const form = document.getElementById("login");
    form.hidden = false;
    form.onsubmit = (e) => {
      e.preventDefault();
      sessionStorage.setItem(tokenKey, document.getElementById("token").value.trim());
      form.hidden = true;
      connect();
    };
  }
  async function getJSON(path) {
    const r = await fetch(path, { headers: headers() });
    if (r.status === 401) { askToken(); throw new Error("unauthorized"); }
    if (!r.ok) {
      let detail = r.statusText;
      try { detail = (await r.json()).detail || detail; } catch (_) { /* not JSON */ }
      throw new Error(r.status + " " + detail);
    }
    return r.json();
  }

  // --- codes ----------------------------------------------------------------------------
  function decodeCodes(b64) {
    const s = atob(b64 || "");
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function statusOf(code) { return code === CODE_DELETED ? "deleted" : (statuses[code & 15] || ""); }
  function rollingOf(i) { return codes[i] === CODE_DELETED ? "deleted" : (rollingStates[rolling[i]] || ""); }
  // colorOf is the colour of node i in the current mode.
  function colorOf(i) {
    const code = codes[i];
    if (code === CODE_DELETED) return DELETED;
    if (mode === "rolling") return ROLLING_COLORS[rollingOf(i)] || ROLLING_COLORS[""];
    const st = statuses[code & 15] || "";
    return ((code & F_DISABLED) ? PALE : COLORS)[st] || COLORS[""];
  }

  // --- layout: cabinet → chassis → slot → node, from the xnames --------------------------
  const XNAME = /^x(\d+)c(\d+)s(\d+)b(\d+)n(\d+)$/;
  function layout() {
    const t0 = performance.now();
    const n = ids.length;
    cell = n <= 3000 ? 10 : n <= 30000 ? 6 : 3;
    const cabs = new Map(); // cabinet → {nodes: [i], ...}
    const parsed = new Array(n);
    for (let i = 0; i < n; i++) {
      const m = XNAME.exec(ids[i]);
      const key = m ? "x" + m[1] : "other";
      parsed[i] = m ? m.slice(1).map(Number) : null;
      if (!cabs.has(key)) cabs.set(key, { key, num: m ? +m[1] : Infinity, nodes: [] });
      cabs.get(key).nodes.push(i);
    }
    const width = Math.max(300, box.clientWidth - 4);
    px = new Int32Array(n); py = new Int32Array(n);
    blocks = [];
    let x = 0, y = 0, rowH = 0;
    for (const cab of [...cabs.values()].sort((a, b) => a.num - b.num)) {
      const place = cabPlacer(cab, parsed);
      const w = place.cols * cell, h = place.rows * cell + LABEL_H;
      if (x > 0 && x + w > width) { x = 0; y += rowH + BLOCK_GAP; rowH = 0; }
      const b = { x, y, w, h, label: cab.key, cols: place.cols, rows: place.rows, grid: new Int32Array(place.cols * place.rows).fill(-1) };
      for (const i of cab.nodes) {
        const [c, r] = place.at(i);
        px[i] = x + c * cell; py[i] = y + LABEL_H + r * cell;
        b.grid[r * place.cols + c] = i;
      }
      blocks.push(b);
      x += w + BLOCK_GAP; rowH = Math.max(rowH, h);
    }
    const dpr = window.devicePixelRatio || 1;
    canvas.style.width = width + "px";
    canvas.style.height = (y + rowH + 2) + "px";
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round((y + rowH + 2) * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    fullRedraw = true;
    schedule();
    timings.layout = performance.now() - t0;
  }

  // cabPlacer returns a cabinet's grid size and each node's cell in it. Liquid-cooled
  // cabinets (x1000–x2999): a row band per chassis, a column per slot (blade), the blade's
  // nodes stacked in it. Racks (x3000 and up): a row per slot (U, the highest on top),
  // nodes side by side. Anything else: a square of cells in id order.
  function cabPlacer(cab, parsed) {
    const nodes = cab.nodes;
    if (cab.key === "other") {
      const cols = Math.max(1, Math.ceil(Math.sqrt(nodes.length)));
      const pos = new Map(nodes.map((i, k) => [i, [k % cols, Math.floor(k / cols)]]));
      return { cols, rows: Math.ceil(nodes.length / cols), at: (i) => pos.get(i) };
    }
    let maxB = 0, maxN = 0, minC = Infinity, maxC = 0, minS = Infinity, maxS = 0;
    for (const i of nodes) {
      const [, c, s, b, nn] = parsed[i];
      maxB = Math.max(maxB, b); maxN = Math.max(maxN, nn);
      minC = Math.min(minC, c); maxC = Math.max(maxC, c);
      minS = Math.min(minS, s); maxS = Math.max(maxS, s);
    }
    const perSlot = (maxB + 1) * (maxN + 1);
    const within = (b, nn) => b * (maxN + 1) + nn;
    if (cab.num < 3000) {
      const slots = maxS + 1, band = perSlot + 1; // a blank row between chassis
      return {
        cols: slots + 1, rows: (maxC - minC + 1) * band,
        at: (i) => { const [, c, s, b, nn] = parsed[i]; return [s, (c - minC) * band + within(b, nn)]; },
      };
    }
    const chassis = maxC - minC + 1, rowsPer = maxS - minS + 1;
    return {
      cols: perSlot + 1, rows: chassis * (rowsPer + 1),
      at: (i) => { const [, c, s, b, nn] = parsed[i]; return [within(b, nn), (c - minC) * (rowsPer + 1) + (maxS - s)]; },
    };
  }

  // --- drawing: every cell on a full redraw, else only the changed ones -----------------
  function schedule() {
    if (!framePending) { framePending = true; requestAnimationFrame(draw); }
  }
  function drawCell(i) {
    const code = codes[i], x = px[i], y = py[i], s = cell > 4 ? cell - 1 : cell;
    ctx.fillStyle = DELETED;
    ctx.fillRect(x, y, cell, cell);
    ctx.fillStyle = colorOf(i);
    ctx.fillRect(x, y, s, s);
    if (code === CODE_DELETED || cell < 5) return;
    if (mode === "rolling") { drawSelection(i, x, y, s); return; }
    const m = Math.max(2, cell >> 2);
    if (code & F_STAGED) { ctx.fillStyle = "#000"; ctx.fillRect(x, y, m, m); }
    if ((code & F_ERROR) && statuses[code & 15] !== "failed") { ctx.fillStyle = "#d62728"; ctx.fillRect(x + s - m, y + s - m, m, m); }
    drawSelection(i, x, y, s);
  }
  function drawSelection(i, x, y, s) {
    if (ids[i] === selected) { ctx.strokeStyle = "#000"; ctx.lineWidth = 1; ctx.strokeRect(x + 0.5, y + 0.5, s - 1, s - 1); }
  }
  const timings = { layout: 0, fullDraw: 0, lastDraw: 0, lastCells: 0 };
  function draw() {
    framePending = false;
    const t0 = performance.now();
    timings.lastCells = fullRedraw ? ids.length : dirty.size;
    if (fullRedraw) {
      fullRedraw = false; dirty.clear();
      ctx.fillStyle = DELETED;
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = "#333"; ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "top";
      for (const b of blocks) ctx.fillText(b.label, b.x, b.y + 1);
      for (let i = 0; i < ids.length; i++) drawCell(i);
      ctx.fillStyle = "#333";
    } else {
      for (const i of dirty) drawCell(i);
      dirty.clear();
    }
    timings.lastDraw = performance.now() - t0;
    if (timings.lastCells === ids.length) timings.fullDraw = timings.lastDraw;
  }

  // --- legend with live counts ----------------------------------------------------------
  const legend = document.getElementById("legend");
  function renderLegend() {
    for (const b of document.querySelectorAll("#modes button")) b.classList.toggle("on", b.dataset.mode === mode);
    if (mode === "rolling") { renderRollingLegend(); return; }
    const counts = new Map();
    let disabled = 0, staged = 0;
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === CODE_DELETED) continue;
      if (c & F_DISABLED) disabled++;
      if (c & F_STAGED) staged++;
      const st = statuses[c & 15] || "";
      counts.set(st, (counts.get(st) || 0) + 1);
    }
    const parts = [];
    for (const st of Object.keys(COLORS)) {
      const n = counts.get(st) || 0;
      parts.push(`<span><i style="background:${COLORS[st]}"></i>${st || "no status"} ${n}</span>`);
    }
    parts.push(`<span title="disabled: BOS does not act on it (at rest after its session, or taken out)"><i style="background:${PALE.stable}"></i><i style="background:${PALE.failed}"></i>paler: disabled ${disabled}</span>`);
    parts.push(`<span><i style="background:#fff;box-shadow:inset 4px 4px 0 -1px #000"></i>staged ${staged}</span>`);
    parts.push(`<span><i style="background:#fff;box-shadow:inset -4px -4px 0 -1px #d62728"></i>error, retrying</span>`);
    legend.innerHTML = parts.join("");
    let live = 0;
    for (const c of codes) if (c !== CODE_DELETED) live++;
    document.getElementById("summary").textContent =
      `${live} components · ${counts.get("stable") || 0} stable · ${counts.get("failed") || 0} failed · ${live - disabled} enabled`;
  }
  function renderRollingLegend() {
    const counts = new Map();
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] === CODE_DELETED) continue;
      const st = rollingOf(i);
      counts.set(st, (counts.get(st) || 0) + 1);
    }
    legend.innerHTML = Object.keys(ROLLING_COLORS).map((st) =>
      `<span data-rolling="${st}"><i style="background:${ROLLING_COLORS[st]}"></i>${rollingLabel(st)} <b>${counts.get(st) || 0}</b></span>`).join("");
    let live = 0;
    for (const c of codes) if (c !== CODE_DELETED) live++;
    document.getElementById("summary").textContent =
      `${live} components · ${live - (counts.get("") || 0)} in a rolling upgrade · ${counts.get("back_in_service") || 0} back in service`;
  }
  function setMode(m) {
    mode = m === "rolling" ? "rolling" : "status";
    history.replaceState(null, "", mode === "rolling" ? "#rolling" : location.pathname + location.search);
    fullRedraw = true; schedule();
    renderLegend();
  }
  for (const b of document.querySelectorAll("#modes button")) b.addEventListener("click", () => setMode(b.dataset.mode));
  let legendTimer = 0;
  function legendSoon() { if (!legendTimer) legendTimer = setTimeout(() => { legendTimer = 0; renderLegend(); }, 300); }

  // --- the event stream -------------------------------------------------------------------
  function applySnapshot(snap) {
    statuses = snap.statuses || [];
    rollingStates = snap.rolling_states || [];
    ids = snap.ids || [];
    codes = decodeCodes(snap.codes);
    rolling = decodeCodes(snap.rolling);
    index = new Map(ids.map((id, i) => [id, i]));
    layout();
    renderLegend();
    ready = true;
  }
  function applyChanges(ch) {
    const cs = decodeCodes(ch.codes), rs = decodeCodes(ch.rolling);
    let unknown = false;
    for (let k = 0; k < ch.ids.length; k++) {
      const i = index.get(ch.ids[k]);
      if (i === undefined) { if (cs[k] !== CODE_DELETED) unknown = true; continue; }
      codes[i] = cs[k];
      rolling[i] = rs[k] || 0;
      dirty.add(i);
    }
    changesSeen++;
    if (unknown) { reconnect(0); return; } // a new component: take a fresh snapshot and layout
    schedule();
    legendSoon();
    if (selected && ch.ids.includes(selected)) showDetail(selected);
  }

  let abort = null, retryTimer = 0;
  const conn = document.getElementById("conn");
  function setConn(text, down) { conn.textContent = text; conn.classList.toggle("down", !!down); }
  function reconnect(delay) {
    if (abort) abort.abort();
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }
  async function connect() {
    const ac = new AbortController();
    abort = ac;
    try {
      const r = await fetch("events", { headers: headers(), signal: ac.signal });
      if (r.status === 401) { setConn("token needed", true); askToken(); return; }
      if (!r.ok || !r.body) throw new Error("events: " + r.status);
      setConn("live");
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const raw = buf.slice(0, end); buf = buf.slice(end + 2);
          let name = "message", data = "";
          for (const line of raw.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (!data) continue;
          const msg = JSON.parse(data);
          if (name === "snapshot") applySnapshot(msg);
          else if (name === "changes") applyChanges(msg);
        }
      }
      throw new Error("stream ended");
    } catch (e) {
      if (ac.signal.aborted) return;
      setConn("disconnected, retrying…", true);
      reconnect(2000);
    }
  }

  // --- hover and click ----------------------------------------------------------------------
  function nodeAt(ev) {
    const rect = canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
    for (const b of blocks) {
      if (x < b.x || y < b.y + LABEL_H || x >= b.x + b.w || y >= b.y + b.h) continue;
      const c = Math.floor((x - b.x) / cell), r = Math.floor((y - b.y - LABEL_H) / cell);
      if (c >= b.cols || r >= b.rows) return -1;
      return b.grid[r * b.cols + c];
    }
    return -1;
  }
  const hover = document.getElementById("hover");
  canvas.addEventListener("mousemove", (ev) => {
    const i = nodeAt(ev);
    hover.textContent = i < 0 ? "" : mode === "rolling" ? `${ids[i]}  ${rollingLabel(rollingOf(i))}` :
      `${ids[i]}  ${statusOf(codes[i])}${codes[i] & F_DISABLED ? " (disabled)" : ""}${codes[i] & F_STAGED ? " (staged)" : ""}`;
  });
  canvas.addEventListener("click", (ev) => {
    const i = nodeAt(ev);
    if (i < 0) return;
    const prev = index.get(selected);
    selected = ids[i];
    if (prev !== undefined) dirty.add(prev);
    dirty.add(i); schedule();
    showDetail(selected);
  });

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  // historyHTML is a node's history (newest first, as the server sends it) as a timeline:
  // the time (UTC; the full timestamp and the session on hover), the kind, what changed.
  const historyText = (e) => {
    const none = (s) => s ? esc(s) : "<i>none</i>";
    switch (e.kind) {
      case "created": return `record created${e.detail ? ` (${esc(e.detail)})` : ""}`;
      case "action": return `<b>${esc(e.to)}</b>${e.detail ? ` ${esc(e.detail)}` : ""}`;
      case "cfs": return `configuration <b>${none(e.to)}</b>: ${esc(e.detail || "")}`;
      case "bss": case "attempts": return esc(e.detail || "");
      case "actual": return `${none(e.to)}${e.detail ? ` <small>(${esc(e.detail)})</small>` : ""}`;
      case "staged": return `${none(e.from)} → ${none(e.to)}${e.detail ? ` <small>(session ${esc(e.detail)})</small>` : ""}`;
    }
    return `${none(e.from)} → ${none(e.to)}`;
  };
  function historyHTML(entries) {
    if (!entries.length) return `<div data-role="history" class="placeholder">no history kept for this node</div>`;
    return `<ol data-role="history" class="history">${entries.map((e) =>
      `<li data-kind="${esc(e.kind)}" class="${e.kind === "error" && e.to || e.detail && e.detail.startsWith("failed") ? "err" : ""}" title="${esc(e.time)}${e.session ? " · session " + esc(e.session) : ""}">` +
      `<time>${esc(String(e.time).slice(11, 19))}</time> <span class="kind">${esc(e.kind)}</span> ${historyText(e)}</li>`).join("")}</ol>`;
  }

  let detailSeq = 0;
  async function showDetail(id) {
    const seq = ++detailSeq;
    const el = document.getElementById("detail");
    try {
      const d = await getJSON("api/components/" + encodeURIComponent(id));
      if (seq !== detailSeq) return;
      const c = d.component, st = c.status || {};
      const power = d.power ? `${esc(d.power.state)}${d.power.error ? ` <span class="err">(${esc(d.power.error)})</span>` : ""}` : `<span class="placeholder">not read here (BOS runs without its reconciler)</span>`;
      el.innerHTML = `<h2>${esc(c.id)}</h2>
        <div class="kv">status <b data-role="status">${esc(st.status || "")}</b> · phase ${esc(st.phase || "none")} · ${c.enabled ? "enabled" : "<b>disabled</b>"} · session ${esc(c.session || "none")}</div>
        <div class="kv">power (as BOS's driver reads it): <b data-role="power">${power}</b></div>
        ${c.staged_state && c.staged_state.session ? `<div class="kv">staged by session <b>${esc(c.staged_state.session)}</b></div>` : ""}
        <div class="kv">rolling upgrade: <b data-role="rolling">${esc(rollingLabel(d.rolling || ""))}</b></div>
        ${slurmHTML(d.slurm)}
        ${c.error ? `<div class="err" data-role="error">${esc(c.error)}</div>` : ""}
        <pre data-role="record">${esc(JSON.stringify(c, null, 2))}</pre>
        <h2>History</h2>
        ${historyHTML(d.history || [])}`;
    } catch (e) {
      if (seq === detailSeq) el.innerHTML = `<h2>${esc(id)}</h2><div class="err">${esc(e.message)}</div>`;
    }
  }

  // slurmHTML is the detail panel's Slurm line: the node's state, reason and running jobs.
  function slurmHTML(s) {
    if (!s) return `<div class="kv">Slurm: <span class="placeholder">not read (BOS knows no Slurm)</span></div>`;
    const err = s.error ? ` <span class="err">(last read failed: ${esc(s.error)})</span>` : "";
    if (!s.name) return `<div class="kv">Slurm: <span class="placeholder" data-role="slurm-state">not a Slurm node</span>${err}</div>`;
    const jobs = s.jobs.length ? s.jobs.map(String).join(", ") : "none";
    return `<div class="kv">Slurm <b>${esc(s.name)}</b>: <b data-role="slurm-state">${esc(s.sinfo)}</b> (${esc(s.state.join("+"))})${s.reason ? ` · reason <span data-role="slurm-reason">${esc(s.reason)}</span>` : ""} · jobs <span data-role="slurm-jobs">${esc(jobs)}</span>${err}</div>`;
  }

  // --- sessions -------------------------------------------------------------------------------
  const PHASE_BARS = [["percent_complete", "#2e9e44"], ["percent_powering_on", "#2b7bba"], ["percent_powering_off", "#fd8d3c"], ["percent_configuring", "#8e6cc9"]];
  async function refreshSessions() {
    try {
      const rows = await getJSON("api/sessions");
      const el = document.getElementById("sessionlist");
      if (!rows.length) { el.innerHTML = `<p class="hint">none yet</p>`; return; }
      el.innerHTML = rows.map((row) => {
        const s = row.session, x = row.extended_status || {}, ph = x.phases || {};
        const bars = PHASE_BARS.map(([k, color]) => `<div title="${k.slice(8).replace("_", " ")} ${ph[k] || 0}%" style="width:${ph[k] || 0}%;background:${color}"></div>`).join("");
        const errs = Object.entries(x.error_summary || {}).map(([msg, v]) => `<div class="err">${v.count} × ${esc(msg)}<br><small>${esc(v.list)}</small></div>`).join("");
        return `<div class="session" data-session="${esc(s.name)}">
          <span class="name">${esc(s.name)}</span> <span class="kv">${esc(s.operation)} of ${esc(s.template_name)}${s.stage ? " · staged" : ""}${s.tenant ? " · tenant " + esc(s.tenant) : ""}</span>
          <div><b data-role="session-status">${esc(s.status.status)}</b> · ${x.managed_components_count || 0} nodes · ${ph.percent_complete || 0}% complete · ${x.percent_failed || 0}% failed${s.stage ? ` · ${x.percent_staged || 0}% staged` : ""} · ${esc((x.timing || {}).duration || "")}</div>
          <div class="bar">${bars}</div>${errs}</div>`;
      }).join("");
    } catch (e) {
      /* shown by the connection state; retried on the next tick */
    }
  }

  // --- test hook (read-only) ---------------------------------------------------------------
  function rgb(hex) {
    const v = parseInt(hex.slice(1), 16);
    return `rgb(${v >> 16},${(v >> 8) & 255},${v & 255})`;
  }
  window.addEventListener("error", (e) => errors.push(String(e.message)));
  window.bosView = {
    ready: () => ready,
    count: () => ids.length,
    changes: () => changesSeen,
    status: (id) => (index.has(id) ? statusOf(codes[index.get(id)]) : null),
    rolling: (id) => (index.has(id) ? rollingOf(index.get(id)) : null),
    mode: () => mode,
    // expected: the colour the cell of id should have; drawn: the pixel at its centre.
    expectedColor: (id) => (index.has(id) ? rgb(colorOf(index.get(id))) : null),
    drawnColor: (id) => {
      const i = index.get(id);
      if (i === undefined) return null;
      const dpr = window.devicePixelRatio || 1;
      const p = ctx.getImageData(Math.floor((px[i] + (cell - 1) / 2) * dpr), Math.floor((py[i] + (cell - 1) / 2) * dpr), 1, 1).data;
      return `rgb(${p[0]},${p[1]},${p[2]})`;
    },
    // where to click id, in the page's CSS pixels (from the viewport's origin)
    cellCenter: (id) => {
      const i = index.get(id);
      if (i === undefined) return null;
      const r = canvas.getBoundingClientRect();
      return { x: r.left + px[i] + cell / 2, y: r.top + py[i] + cell / 2 };
    },
    errors: () => errors.slice(),
    // milliseconds: the last layout, the last full draw, the last draw and its cells
    timings: () => ({ ...timings }),
  };

  window.addEventListener("resize", () => { if (ready) layout(); });
  connect();
  refreshSessions();
  setInterval(refreshSessions, 2000);
})();
