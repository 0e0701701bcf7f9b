/**
 * The status page: one HTML document with its style and script inline, so it
 * works offline and behind any firewall. It reads `/status/events` (server-
 * sent events) and redraws; every value goes in through `textContent` or an
 * attribute, never as HTML, since node ids come from the cluster.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringroute status</title>
<style>
  :root { color-scheme: dark; --bg:#111418; --card:#1a1f26; --line:#2a313b; --fg:#e6e9ee; --dim:#8b95a3; --ok:#3fb950; --warn:#d29922; --bad:#f85149; --info:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; background:var(--bg); color:var(--fg); font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { display:flex; flex-wrap:wrap; gap:12px; align-items:center; padding:12px 20px; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0 12px 0 0; font-weight:600; }
  .badge { padding:3px 10px; border-radius:999px; border:1px solid var(--line); font-size:13px; white-space:nowrap; }
  .badge.ok { color:var(--ok); border-color:var(--ok); } .badge.bad { color:#fff; background:var(--bad); border-color:var(--bad); } .badge.warn { color:var(--warn); border-color:var(--warn); }
  .tiles { display:grid; grid-template-columns:repeat(auto-fit,minmax(140px,1fr)); gap:12px; padding:16px 20px 0; }
  .tile { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
  .tile .v { font-size:26px; font-weight:600; font-variant-numeric:tabular-nums; } .tile .k { color:var(--dim); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  main { display:grid; grid-template-columns:minmax(360px,1.2fr) minmax(320px,1fr); gap:16px; padding:16px 20px 20px; }
  @media (max-width: 900px) { main { grid-template-columns:1fr; } }
  section.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; min-width:0; }
  h2 { font-size:13px; color:var(--dim); text-transform:uppercase; letter-spacing:.05em; margin:0 0 10px; font-weight:600; }
  .ringbox { display:flex; flex-direction:column; gap:12px; align-items:center; }
  .ringbox > div { width:100%; }
  svg { flex:0 0 auto; }
  table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
  th, td { text-align:right; padding:4px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
  th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align:left; }
  th { color:var(--dim); font-weight:500; font-size:12px; }
  .sw { display:inline-block; width:12px; height:12px; border-radius:3px; vertical-align:-1px; }
  .bar { display:inline-block; height:6px; border-radius:3px; vertical-align:middle; margin-left:6px; opacity:.8; }
  .dim { color:var(--dim); }
  .note { margin-top:8px; color:var(--dim); font-size:13px; }
  .note.bad { color:var(--bad); }
  ol#log { list-style:none; margin:0; padding:0; max-height:560px; overflow:auto; font-size:13px; }
  ol#log li { display:grid; grid-template-columns:70px 72px 1fr; gap:8px; padding:4px 0; border-bottom:1px solid var(--line); }
  .kind { font-size:11px; text-transform:uppercase; font-weight:600; letter-spacing:.03em; }
  .k-join { color:var(--ok); } .k-leave, .k-expire { color:var(--warn); } .k-error { color:var(--bad); } .k-change, .k-resync { color:var(--info); } .k-handoff { color:#d2a8ff; } .k-update, .k-info { color:var(--dim); }
  #banner { display:none; margin:12px 20px 0; padding:8px 12px; border-radius:6px; background:#3d1d20; border:1px solid var(--bad); color:#ffd7d5; }
</style>
</head>
<body>
<header>
  <h1 id="title">ringroute</h1>
  <span id="conn" class="badge warn">connecting…</span>
  <span id="version" class="badge">ring –</span>
  <span id="agree" class="badge">gateways –</span>
  <span id="updated" class="dim"></span>
</header>
<div id="banner"></div>
<div class="tiles">
  <div class="tile"><div class="k">nodes on ring</div><div class="v" id="t-nodes">–</div></div>
  <div class="tile"><div class="k">sessions</div><div class="v" id="t-sessions">–</div></div>
  <div class="tile"><div class="k">messages / s</div><div class="v" id="t-rate">–</div></div>
  <div class="tile"><div class="k">held messages</div><div class="v" id="t-held">–</div></div>
  <div class="tile"><div class="k">busiest node</div><div class="v" id="t-balance">–</div></div>
</div>
<main>
  <section class="card">
    <h2>Ring: who owns what</h2>
    <div class="ringbox">
      <svg id="ring" width="320" height="320" viewBox="-150 -150 300 300" role="img" aria-label="hash ring"></svg>
      <div style="overflow:auto">
        <table>
          <thead><tr><th></th><th>node</th><th>share</th><th>weight</th><th>sessions</th><th>msg/s</th><th>held</th><th>closing</th></tr></thead>
          <tbody id="legend"></tbody>
        </table>
        <div id="gateways" class="note"></div>
      </div>
    </div>
  </section>
  <section class="card">
    <h2>Recent events <span class="dim" style="text-transform:none">(newest first)</span></h2>
    <ol id="log"></ol>
  </section>
</main>
<script>
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
const el = (tag, props, ...kids) => { const e = document.createElement(tag); Object.assign(e, props || {}); for (const k of kids) e.append(k); return e; };
const fmt = (n) => n === null || n === undefined ? "–" : n >= 100 ? Math.round(n).toLocaleString("en") : (Math.round(n * 10) / 10).toLocaleString("en");
const pct = (x) => (x * 100).toFixed(1) + "%";
const time = (ms) => new Date(ms).toLocaleTimeString("en-GB", { hour12: false });
let lastAt = 0;

function arcPath(a, b, r) {
  const p = (f) => { const t = f * 2 * Math.PI - Math.PI / 2; return (r * Math.cos(t)).toFixed(2) + " " + (r * Math.sin(t)).toFixed(2); };
  return "M " + p(a) + " A " + r + " " + r + " 0 " + (b - a > 0.5 ? 1 : 0) + " 1 " + p(b);
}

function drawRing(s) {
  const svg = $("ring");
  svg.replaceChildren();
  const R = 118;
  const base = document.createElementNS(SVG, "circle");
  base.setAttribute("r", R); base.setAttribute("fill", "none"); base.setAttribute("stroke", "#2a313b"); base.setAttribute("stroke-width", "30");
  svg.append(base);
  const nodes = s.ring.nodes, arcs = s.ring.arcs;
  for (let i = 0; i < arcs.length; i += 3) {
    const node = nodes[arcs[i + 2]];
    if (!node) continue;
    let a = arcs[i], b = arcs[i + 1];
    const pieces = b - a >= 0.999 ? [[a, a + 0.5], [a + 0.5, b]] : [[a, b]];
    for (const [x, y] of pieces) {
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", arcPath(x, y, R));
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", node.color);
      path.setAttribute("stroke-width", "30");
      path.setAttribute("class", "arc");
      path.setAttribute("data-node", node.id);
      svg.append(path);
    }
  }
  const label = (text, y, size, color) => { const t = document.createElementNS(SVG, "text"); t.setAttribute("x", "0"); t.setAttribute("y", String(y)); t.setAttribute("text-anchor", "middle"); t.setAttribute("fill", color); t.setAttribute("font-size", String(size)); t.textContent = text; svg.append(t); };
  label(s.ring.version > 0 ? "v" + s.ring.version : "no ring", -6, 30, "#e6e9ee");
  label(nodes.length + " nodes · " + s.ring.points + " points", 18, 12, "#8b95a3");
  label("epoch " + (s.ring.epoch || "–").slice(0, 12), 36, 11, "#8b95a3");
}

function render(s) {
  lastAt = Date.now();
  document.title = s.title + " status";
  $("title").textContent = s.title;
  $("version").textContent = "ring v" + s.ring.version + (s.ring.epoch ? " · epoch " + s.ring.epoch.slice(0, 8) : "");
  const agree = $("agree");
  const gws = s.gateways;
  if (s.agree === null) { agree.className = "badge"; agree.textContent = "gateways not reported"; }
  else if (s.agree) { agree.className = "badge ok"; agree.textContent = "✔ all " + gws.length + " gateways on v" + s.ring.version; }
  else { agree.className = "badge bad"; agree.textContent = "✖ gateways disagree: " + gws.filter((g) => !g.agrees).map((g) => g.id + (g.error ? " (unreachable)" : " v" + g.version)).join(", "); }
  $("gateways").replaceChildren(...gws.map((g) => el("div", { className: g.agrees ? "" : "bad", textContent: (g.agrees ? "✔ " : "✖ ") + g.id + ": " + (g.error ? g.error : "v" + g.version + (g.checksum ? " · routes " + g.checksum : "")) })));
  const banner = $("banner");
  banner.style.display = s.stale ? "block" : "none";
  banner.textContent = s.stale ? "Figures may be stale: " + s.stale : "";

  drawRing(s);
  const byId = new Map(s.nodes.map((n) => [n.id, n]));
  const ids = [...new Set([...s.ring.nodes.map((n) => n.id), ...s.nodes.map((n) => n.id)])];
  const ringById = new Map(s.ring.nodes.map((n) => [n.id, n]));
  const fair = s.ring.nodes.length > 0 ? 1 / s.ring.nodes.length : 0;
  const rows = ids.map((id) => {
    const r = ringById.get(id), n = byId.get(id) || {};
    const color = (r && r.color) || n.color || "#555";
    const share = el("td", {}, r ? pct(r.share) : "off ring");
    if (r) share.append(el("span", { className: "bar", style: "width:" + Math.round(r.share * 160) + "px;background:" + color }));
    const row = el("tr", {},
      el("td", {}, el("span", { className: "sw", style: "background:" + color })),
      el("td", { textContent: id, className: r ? "" : "dim" }),
      share,
      el("td", { textContent: r ? String(r.weight) : "–" }),
      el("td", { textContent: fmt(n.sessions) }),
      el("td", { textContent: fmt(n.perSecond) }),
      el("td", { textContent: fmt(n.held) }),
      el("td", { textContent: fmt(n.pendingCloses) }));
    row.dataset.node = id;
    return row;
  });
  $("legend").replaceChildren(...rows);

  const sum = (f) => s.nodes.reduce((t, n) => t + (typeof n[f] === "number" ? n[f] : 0), 0);
  $("t-nodes").textContent = String(s.ring.nodes.length);
  $("t-sessions").textContent = s.nodes.length ? fmt(sum("sessions")) : "–";
  $("t-rate").textContent = s.nodes.some((n) => n.perSecond !== null) ? fmt(sum("perSecond")) : "–";
  $("t-held").textContent = s.nodes.length ? fmt(sum("held")) : "–";
  const top = s.ring.nodes.slice().sort((a, b) => b.share - a.share)[0];
  $("t-balance").textContent = top ? (top.share / fair).toFixed(2) + "× fair" : "–";
  $("t-balance").title = top ? top.id + " owns " + pct(top.share) + " (fair share " + pct(fair) + ")" : "";

  $("log").replaceChildren(...s.events.slice().reverse().map((e) => {
    const li = el("li", {}, el("span", { className: "dim", textContent: time(e.at) }), el("span", { className: "kind k-" + e.kind, textContent: e.kind }), el("span", { textContent: e.text + (e.count > 1 ? "  ×" + e.count : "") }));
    li.dataset.kind = e.kind;
    return li;
  }));
}

function connect() {
  const source = new EventSource("/status/events");
  const conn = $("conn");
  source.addEventListener("state", (m) => { conn.className = "badge ok"; conn.textContent = "● live"; render(JSON.parse(m.data)); });
  source.onerror = () => { conn.className = "badge bad"; conn.textContent = "reconnecting…"; };
}
setInterval(() => {
  const age = Math.round((Date.now() - lastAt) / 1000);
  $("updated").textContent = lastAt ? "updated " + age + " s ago" : "";
  if (lastAt && age > 5) { $("conn").className = "badge bad"; $("conn").textContent = "no update for " + age + " s"; }
}, 1000);
connect();
</script>
</body>
</html>
`;
