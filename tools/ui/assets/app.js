/*
 * The fangs web UI: plain DOM, no framework. Every page reads the /v1 API.
 * Text from the database (package names, command lines, install output) is
 * attacker text: it reaches the page only as text nodes (h() below), never
 * as markup.
 */
"use strict";

const TOKEN_KEY = "fangs_token";
const SEVERITIES = ["critical", "high", "medium", "low", "info"];
const KINDS = ["exec", "file_open", "net_connect", "dns_query", "tls_sni", "proxy_request", "process_fork",
  "process_exit", "syscall"];

/* An element: attrs are properties or attributes (on* are listeners);
 * children are nodes or strings (text). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/* Loads a page started and did not wait for: the page is ready (the
 * body's data-ready attribute, which tests wait for) when they are done. */
const loading = [];
function background(p) { loading.push(p.catch(showError)); }

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

/* ---- credentials ---- */

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

function takeTokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

function showCredential() {
  const st = document.getElementById("cred-state");
  st.textContent = token() ? "token in use" : "no token (client certificate, if any)";
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

/* The CSRF value for a write without a token (a client certificate or an
 * orchestrator without authentication): the cookie the server set. */
async function csrf() {
  let v = cookie("fangs_csrf");
  if (v) return v;
  const r = await fetch("/v1/csrf", { credentials: "same-origin" });
  if (r.ok) {
    try {
      const j = await r.json();
      v = j.csrf || j.token || "";
    } catch (e) { v = ""; }
  }
  return cookie("fangs_csrf") || v;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (token()) headers["Authorization"] = "Bearer " + token();
  else if (method !== "GET") headers["X-Fangs-CSRF"] = await csrf();
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let j = null;
  try { j = text ? JSON.parse(text) : null; } catch (e) { j = null; }
  if (!r.ok) {
    const why = (j && j.error) || text || r.statusText;
    throw new ApiError(r.status, r.status + ": " + why);
  }
  return j;
}

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") u.set(k, v);
  const s = u.toString();
  return s ? "?" + s : "";
}

function showError(err) {
  const el = document.getElementById("error");
  el.hidden = false;
  el.textContent = String(err && err.message ? err.message : err);
  if (err && (err.status === 401 || err.status === 403))
    el.textContent += " — paste a token with the right role (top right), or use a client certificate.";
}

/* A write's outcome shown next to its button. */
async function act(msgEl, what, fn) {
  clear(msgEl);
  try {
    await fn();
    msgEl.className = "msg ok";
    msgEl.textContent = what + ": done";
    return true;
  } catch (e) {
    msgEl.className = "msg err";
    msgEl.textContent = what + " refused: " + e.message;
    return false;
  }
}

/* ---- formatting ---- */

function when(ns) {
  if (!ns) return "—";
  return new Date(Number(ns) / 1e6).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function duration(ns) {
  if (!ns) return "—";
  const s = Number(ns) / 1e9;
  return s < 1 ? (s * 1000).toFixed(0) + " ms" : s.toFixed(1) + " s";
}

function sev(s) { return s ? h("span", { class: "sev sev-" + s }, s) : h("span", { class: "muted" }, "—"); }

function pkgLink(name) { return h("a", { href: "/ui/packages/" + encodeURIComponent(name) }, name); }
function runLink(id, text) { return h("a", { href: "/ui/runs/" + encodeURIComponent(id), class: "mono" }, text || id); }

function scalar(v) {
  if (v === null || v === undefined) return h("span", { class: "muted" }, "—");
  if (typeof v === "object") return h("code", {}, JSON.stringify(v));
  return String(v);
}

/* A table of objects: columns [[title, key or function(row)]]; without
 * columns, one per scalar key of the first row. */
function table(rows, columns, rowClass) {
  if (!rows || !rows.length) return h("p", { class: "muted" }, "none");
  if (!columns) columns = Object.keys(rows[0]).map((k) => [k, k]);
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c[0])))),
    h("tbody", {}, rows.map((r) => h("tr", { class: rowClass ? rowClass(r) : null },
      columns.map((c) => {
        const v = typeof c[1] === "function" ? c[1](r) : r[c[1]];
        if (typeof c[1] !== "function" && /_ns$/.test(c[1])) return h("td", {}, when(v));
        if (c[1] === "run_id" && v) return h("td", {}, runLink(v));
        return h("td", {}, v instanceof Node ? v : scalar(v));
      })))));
}

function runColumns() {
  return [["run", (r) => runLink(r.id)], ["package", (r) => pkgLink(r.package)],
    ["version", "version"], ["state", "state"], ["review", "review"],
    ["severity", (r) => sev(r.max_severity)], ["deviations", "deviation_count"], ["events", "event_count"],
    ["created", "created_ns"]];
}

function runnerColumns() {
  return [["runner", "id"], ["state", "state"], ["scans", (x) => x.running + " / " + x.max_scans], ["host", "hostname"],
    ["credential", "cn"], ["registered", "registered_ns"], ["last heartbeat", "last_heartbeat_ns"]];
}

function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v instanceof Node ? v : scalar(v))]));
}

/* One line for an event. */
function eventText(e) {
  switch (e.kind) {
    case "exec": return (e.argv && e.argv.length ? e.argv.join(" ") : e.path);
    case "file_open": return (e.flags || "r") + " " + (e.real_path || e.path) + (e.decoy ? " (decoy " + e.decoy + ")" : "");
    case "net_connect": return (e.proto || "tcp") + " " + e.addr + ":" + e.port;
    case "dns_query": return (e.qtype || "") + " " + e.qname;
    case "tls_sni": return e.sni;
    case "proxy_request": return e.method + " " + e.host + ":" + e.port + (e.allowed ? " allowed" : " refused");
    case "process_fork": return "fork " + e.pid;
    case "process_exit": return "exit " + e.exit_code;
    case "syscall": return e.op + (e.detail ? " " + e.detail : "") + (e.path ? " " + e.path : "");
  }
  return JSON.stringify(e);
}

function originText(o) {
  if (!o || !o.package) return null;
  return o.package + (o.version ? "@" + o.version : "") + (o.script ? " " + o.script : "");
}

/* ---- pages ---- */

async function pageOverview(main) {
  const [ov, watched] = await Promise.all([api("GET", "/v1/overview"), api("GET", "/v1/packages?watched=1")]);
  const q = ov.queue || {};
  const rf = ov.recent_findings || {};
  main.append(
    h("h1", {}, "Overview"),
    h("div", { class: "cards" },
      h("div", { class: "card", id: "card-watched" }, h("div", { class: "n" }, ov.packages_watched), "packages watched"),
      ["queued", "running", "done", "failed"].map((k) =>
        h("div", { class: "card", id: "card-" + k }, h("div", { class: "n" }, q[k] || 0), k)),
      h("div", { class: "card" }, h("div", { class: "n" }, (ov.runners || []).length), "runners")),
    h("h2", {}, "Recent findings by severity"),
    h("div", { class: "cards", id: "recent-findings" }, SEVERITIES.map((s) =>
      h("a", { class: "card", href: "/ui/runs" + qs({ min_severity: s }) }, h("div", { class: "n" }, rf[s] || 0), sev(s)))),
    h("h2", {}, "Pending reviews"),
    table(ov.pending, runColumns()),
    h("h2", {}, "Watched packages"),
    table(watched.packages, [["package", (p) => pkgLink(p.name)], ["last seen", "last_seen_version"],
      ["runs", "run_count"], ["baseline size", "baseline_size"]]),
    h("h2", {}, "Runners"),
    table(ov.runners, runnerColumns()));
}

async function pagePackages(main, params) {
  const watchedOnly = params.get("watched") === "1";
  const r = await api("GET", "/v1/packages" + qs({ watched: watchedOnly ? "1" : "" }));
  main.append(h("h1", {}, "Packages"),
    h("p", {}, watchedOnly ? h("a", { href: "/ui/packages" }, "show all packages")
      : h("a", { href: "/ui/packages?watched=1" }, "show watched packages only")),
    table(r.packages, [["package", (p) => pkgLink(p.name)], ["watched", (p) => p.watched ? "yes" : "no"],
      ["last seen", "last_seen_version"], ["runs", "run_count"], ["baseline size", "baseline_size"],
      ["added", "created_ns"]]));
}

function allowlistSection(pkg) {
  const box = h("div", { id: "allowlist" });
  const msg = h("div", {});
  async function load() {
    const r = await api("GET", "/v1/allowlist" + qs({ package: pkg }));
    const entries = r.entries || r.allowlist || r.allow || [];
    clear(box).append(table(entries, [["kind", "kind"], ["value", (e) => h("code", {}, e.value || "")],
      ["package", (e) => e.package || "(every package)"], ["note", "note"], ["", (e) => e.id === undefined || e.id === null ? "" :
        h("button", { class: "allow-remove", onclick: () => act(msg, "remove", () =>
          api("DELETE", "/v1/allowlist/" + encodeURIComponent(e.id))).then((ok) => ok && load()) }, "Remove")]]));
  }
  const kind = allowKindSelect("");
  const value = h("input", { name: "value", placeholder: "value", required: true });
  const note = h("input", { name: "note", placeholder: "note" });
  const form = h("form", { class: "filters", id: "allow-add", onsubmit: (ev) => {
    ev.preventDefault();
    act(msg, "allowlist add", () => api("POST", "/v1/allowlist",
      { kind: kind.value, value: value.value, package: pkg, note: note.value || undefined })).then((ok) => ok && load());
  } }, kind, value, note, h("button", { type: "submit" }, "Allow"));
  return [h("h2", {}, "Allowlist"), box, form, msg, load];
}

async function pagePackage(main, name) {
  const r = await api("GET", "/v1/packages/" + encodeURIComponent(name));
  const p = r.package || {};
  const msg = h("div", {});
  const watchBtn = h("button", { id: "watch", onclick: async () => {
    const on = !p.watched;
    if (await act(msg, on ? "watch" : "unwatch", () => api(on ? "PUT" : "DELETE",
      "/v1/packages/" + encodeURIComponent(name) + "/watch"))) {
      p.watched = on;
      watchBtn.textContent = p.watched ? "Unwatch" : "Watch";
    }
  } }, p.watched ? "Unwatch" : "Watch");
  main.append(h("h1", {}, p.name || name),
    kv([["watched", p.watched ? "yes" : "no"], ["last seen version", p.last_seen_version],
      ["runs", p.run_count], ["baseline size", p.baseline_size]]),
    h("p", {}, watchBtn, " ", h("a", { href: "/ui/runs" + qs({ package: name }) }, "all runs of this package")), msg,
    h("h2", {}, "Releases"),
    (r.releases || []).length ? h("div", { id: "releases" }, r.releases.map((rel) =>
      [h("h3", {}, rel.version), table(rel.runs, runColumns())])) : h("p", { class: "muted" }, "none"));
  const b = r.baseline || {};
  main.append(h("h2", {}, "Baseline"), baselineView(b));
  const [title, box, form, amsg, load] = allowlistSection(name);
  main.append(title, box, form, amsg);
  await load();
}

function baselineView(b) {
  const pairs = Object.entries(b).filter(([, v]) => !Array.isArray(v) && (typeof v !== "object" || v === null));
  const lists = Object.entries(b).filter(([, v]) => Array.isArray(v));
  return h("div", { id: "baseline" }, pairs.length ? kv(pairs.map(([k, v]) => [k, /_ns$/.test(k) ? when(v) : v])) : null,
    lists.map(([k, v]) => [h("h3", {}, k + " (" + v.length + ")"),
      v.length && typeof v[0] === "object" ? table(v.slice(0, 200)) : h("pre", {}, v.slice(0, 500).join("\n"))]));
}

async function pageRuns(main, params) {
  const f = {};
  for (const k of ["package", "state", "review", "min_severity", "since", "until", "limit", "cursor"]) f[k] = params.get(k) || "";
  const r = await api("GET", "/v1/runs" + qs(Object.assign({}, f, { limit: f.limit || 50 })));
  const sel = (name, opts) => h("label", {}, name, h("select", { name }, h("option", { value: "" }, "any"),
    opts.map((o) => h("option", { value: o, selected: f[name] === o }, o))));
  const input = (name, ph) => h("label", {}, name, h("input", { name, value: f[name], placeholder: ph }));
  main.append(h("h1", {}, "Runs"),
    h("form", { class: "filters", id: "run-filters", method: "get", action: "/ui/runs" },
      input("package", "name"),
      sel("state", ["queued", "running", "succeeded", "failed", "timed_out"]),
      sel("review", ["none", "pending", "promoted"]),
      sel("min_severity", SEVERITIES.slice().reverse()),
      input("since", "2026-01-01T00:00:00Z"), input("until", "2026-12-31T00:00:00Z"),
      f.limit ? h("input", { type: "hidden", name: "limit", value: f.limit }) : null,
      h("button", { type: "submit" }, "Filter")),
    table(r.runs, runColumns()),
    h("p", {}, f.cursor ? h("a", { href: "/ui/runs" + qs(Object.assign({}, f, { cursor: "" })) }, "first page") : null, " ",
      r.next_cursor ? h("a", { id: "next-page", href: "/ui/runs" + qs(Object.assign({}, f, { cursor: r.next_cursor })) }, "next page") : null));
}

async function pageRun(main, id) {
  const path = "/v1/runs/" + encodeURIComponent(id);
  const r = await api("GET", path);
  const run = r.run || {};
  const msg = h("div", {});
  main.append(
    h("h1", {}, run.package ? [pkgLink(run.package), "@" + run.version] : id, " ", sev(run.max_severity)),
    h("p", { id: "verdict" }, run.deviation_count ? run.deviation_count + " deviation(s), highest " + run.max_severity
      : "nothing new", " — state ", run.state, ", review ", run.review, run.is_baseline ? ", in the baseline" : ""),
    h("p", {}, h("button", { id: "promote", onclick: () => act(msg, "promote", async () => {
      await api("POST", path + "/promote");
    }) }, "Promote to baseline")), msg,
    h("h2", {}, "Stats"),
    h("div", { id: "stats" }, kv([["run", h("code", {}, run.id)], ["events stored", run.event_count],
      ["events emitted", run.events_emitted], ["events dropped", run.events_dropped],
      ["duration", duration(run.duration_ns)], ["exit code", run.exit_code], ["runner", run.runner],
      ["sandbox", run.sandbox], ["network", run.network], ["created", when(run.created_ns)],
      ["finished", when(run.finished_ns)], ["error", run.error || run.analysis_error]])));

  const evidence = new Map((r.evidence_events || []).map((e) => [e.id, e]));
  main.append(h("h2", {}, "Findings"), findingsView(r.findings || [], run, evidence));
  main.append(h("h2", {}, "Process tree"), treeSection(path));
  main.append(h("h2", {}, "Deviations"), table(r.deviations, [["severity", (d) => sev(d.severity)], ["kind", "kind"],
    ["value", (d) => h("code", {}, d.value || "")], ["actor", "actor"], ["origin", (d) => originText(d.origin)],
    ["description", "description"]]));
  main.append(h("h2", {}, "Install output"),
    r.install_output ? h("pre", { id: "install-output" }, r.install_output) : h("p", { class: "muted" }, "none recorded"));
  main.append(h("h2", {}, "Events"), eventsSection(path));
}

const ALLOW_KINDS = ["path", "cidr", "sni", "dns", "exec"];

function allowKindSelect(chosen) {
  return h("select", { name: "kind", "aria-label": "allowlist kind" },
    ALLOW_KINDS.map((k) => h("option", { value: k, selected: k === chosen }, k)));
}

/* The allowlist entry a finding suggests: its kind's allowlist kind and
 * its value (an address without its port); both can be edited. */
function allowForm(f, run, msg) {
  const guess = /^fs_/.test(f.kind) ? "path" : f.kind === "net_new_dns" ? "dns" : f.kind === "net_new_https_host" ? "sni"
    : f.kind === "net_new_destination" ? "cidr" : "exec";
  let v = f.value || "";
  if (guess === "cidr") v = v.replace(/^\[?([^\]]*?)\]?:\d+$/, "$1");
  const kind = allowKindSelect(guess);
  const value = h("input", { name: "value", value: v, size: 40, "aria-label": "value to allow" });
  return h("form", { class: "filters allow-finding", onsubmit: (ev) => {
    ev.preventDefault();
    act(msg, "allowlist add", () => api("POST", "/v1/allowlist", { kind: kind.value, value: value.value,
      package: run.package, note: "from run " + run.id }));
  } }, kind, value, h("button", { type: "submit" }, "Allow for " + (run.package || "this package")));
}

function findingsView(findings, run, evidence) {
  if (!findings.length) return h("p", { class: "muted", id: "findings" }, "no findings");
  return h("div", { id: "findings" }, findings.map((f) => {
    const msg = h("div", {});
    const ev = (f.evidence || []).map((x) => {
      const e = typeof x === "object" && x ? x : evidence.get(x);
      return e ? h("li", {}, h("span", { class: "chip" }, e.kind), " pid " + e.pid + " " + (e.comm || "") + " ",
        h("code", {}, eventText(e)), originText(e.origin) ? [" ", h("span", { class: "origin" }, originText(e.origin))] : null)
        : h("li", {}, "event #" + x);
    });
    return h("div", { class: "finding sevb-" + f.severity },
      h("div", {}, sev(f.severity), " ", h("b", {}, f.kind), " ", h("code", {}, f.value || ""),
        (f.labels || []).map((l) => [" ", h("span", { class: "chip" }, l)])),
      f.description ? h("div", {}, f.description) : null,
      kv([["actor", f.actor], ["origin", originText(f.origin)], ["command", f.command ? h("code", {}, f.command) : null],
        ["values", (f.values || []).length > 1 ? f.values.join(", ") : null]]),
      ev.length ? [h("div", { class: "muted" }, "evidence"), h("ul", { class: "evidence" }, ev)] : null,
      f.value ? allowForm(f, run, msg) : null, msg);
  }));
}

/* The process tree: the server aggregates (counts by kind per process),
 * and filters by kind or text; the browser gets processes, not events. */
function treeSection(path) {
  const box = h("div", { id: "tree" });
  const kind = h("select", { name: "kind" }, h("option", { value: "" }, "any kind"), KINDS.map((k) => h("option", { value: k }, k)));
  const q = h("input", { name: "q", placeholder: "path, host, command…" });
  const status = h("span", { class: "muted", id: "tree-status" });
  const form = h("form", { class: "filters", id: "tree-filter", onsubmit: (ev) => { ev.preventDefault(); load(); } },
    h("label", {}, "kind", kind), h("label", {}, "text", q), h("button", { type: "submit" }, "Filter"),
    h("button", { type: "button", id: "tree-expand", onclick: () => setAll(false) }, "Expand all"),
    h("button", { type: "button", id: "tree-collapse", onclick: () => setAll(true) }, "Collapse all"), status);
  function setAll(collapsed) {
    for (const li of box.querySelectorAll("li.has-children")) {
      li.classList.toggle("collapsed", collapsed);
      li.querySelector(":scope > .node > .toggle").textContent = collapsed ? "+" : "−";
    }
  }
  async function load() {
    clear(status).append("loading…");
    const t = await api("GET", path + "/tree" + qs({ kind: kind.value, q: q.value }));
    // a filtered tree is small: every match is shown open
    const openDepth = kind.value || q.value ? Infinity : 3;
    const byPid = new Map((t.nodes || []).map((n) => [n.pid, n]));
    const seen = new Set();
    function node(pid, depth) {
      const n = byPid.get(pid);
      if (!n || seen.has(pid)) return null;
      seen.add(pid);
      const kids = (n.children || []).filter((c) => byPid.has(c));
      const li = h("li", { class: kids.length ? "has-children" : "", "data-pid": pid });
      const toggle = h("button", { type: "button", class: "toggle", disabled: !kids.length, "aria-label": "expand or collapse",
        onclick: () => {
          const c = li.classList.toggle("collapsed");
          toggle.textContent = c ? "+" : "−";
        } }, depth >= openDepth ? "+" : "−");
      if (kids.length && depth >= openDepth) li.classList.add("collapsed");
      const counts = Object.entries(n.counts || {}).filter(([, v]) => v);
      li.append(h("div", { class: "node" + (n.deviations ? " deviates" : "") }, toggle,
        h("span", { class: "mono pid" }, String(pid)),
        h("code", { class: "cmd", title: n.cmdline || "" }, n.cmdline || "(unknown)"),
        originText(n.origin) ? h("span", { class: "origin" }, originText(n.origin)) : null,
        counts.map(([k, v]) => h("span", { class: "chip", "data-kind": k }, k + " " + v)),
        n.deviations ? h("span", { class: "chip dev" }, n.deviations + " deviating") : null));
      if (kids.length) li.append(h("ul", {}, kids.map((c) => node(c, depth + 1))));
      return li;
    }
    const roots = (t.roots || []).map((p) => node(p, 0));
    clear(box).append(roots.length ? h("ul", { class: "tree" }, roots) : h("p", { class: "muted" }, "no process matches"));
    clear(status).append((t.nodes || []).length + " processes" + (t.truncated ? " (the tree was cut: narrow it with the filter)" : ""));
  }
  background(load());
  return h("div", {}, form, box);
}

function eventsSection(path) {
  const rows = h("tbody", {});
  const kind = h("select", { name: "kind" }, h("option", { value: "" }, "any kind"), KINDS.map((k) => h("option", { value: k }, k)));
  const pid = h("input", { name: "pid", placeholder: "pid", size: 7 });
  const q = h("input", { name: "q", placeholder: "text" });
  const more = h("button", { type: "button", id: "events-more", hidden: true }, "More events");
  let cursor = null;
  async function load(reset) {
    if (reset) { clear(rows); cursor = null; }
    const r = await api("GET", path + "/events" + qs({ kind: kind.value, pid: pid.value, q: q.value, limit: 100, cursor }));
    for (const e of r.events || [])
      rows.append(h("tr", {}, h("td", { class: "mono" }, e.id), h("td", {}, when(e.ts_ns)), h("td", {}, e.pid),
        h("td", {}, e.comm), h("td", {}, h("span", { class: "chip" }, e.kind)), h("td", {}, h("code", {}, eventText(e))),
        h("td", {}, originText(e.origin))));
    cursor = r.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => load(false).catch(showError));
  background(load(true));
  return h("div", { id: "events" },
    h("form", { class: "filters", onsubmit: (ev) => { ev.preventDefault(); load(true).catch(showError); } },
      kind, pid, q, h("button", { type: "submit" }, "Filter")),
    h("table", {}, h("thead", {}, h("tr", {}, ["id", "time", "pid", "comm", "kind", "what", "origin"].map((t) => h("th", {}, t)))), rows),
    more);
}

async function pageRunners(main) {
  const [r, j] = await Promise.all([api("GET", "/v1/runners"), api("GET", "/v1/jobs")]);
  main.append(h("h1", {}, "Runners"), table(Array.isArray(r) ? r : r.runners, runnerColumns()),
    h("h2", {}, "Jobs"), table(j.jobs, [["job", "id"], ["run", (x) => runLink(x.run_id)],
      ["package", (x) => pkgLink(x.package)], ["version", "version"], ["state", "state"],
      ["for runner", "target_runner"], ["taken by", "runner"], ["attempts", "attempts"], ["queued", "created_ns"],
      ["updated", "updated_ns"]]));
}

async function pageNotifiers(main) {
  const [n, d] = await Promise.all([api("GET", "/v1/notifiers"), api("GET", "/v1/notifications")]);
  main.append(h("h1", {}, "Notifiers"), table(n.notifiers),
    h("h2", {}, "Deliveries"), table(d.notifications || d.deliveries));
}

/* ---- routing: every /ui/ path is this page; the path says which ---- */

async function route() {
  const main = clear(document.getElementById("main"));
  const parts = location.pathname.replace(/^\/ui\/?/, "").split("/").filter((s) => s !== "");
  const params = new URLSearchParams(location.search);
  const seg = (i) => decodeURIComponent(parts.slice(i).join("/"));
  let title = "fangs";
  try {
    if (parts.length === 0) await pageOverview(main);
    else if (parts[0] === "packages" && parts.length === 1) { title = "packages"; await pagePackages(main, params); }
    else if (parts[0] === "packages") { title = seg(1); await pagePackage(main, seg(1)); }
    else if (parts[0] === "runs" && parts.length === 1) { title = "runs"; await pageRuns(main, params); }
    else if (parts[0] === "runs" && parts.length === 2) { title = "run " + seg(1); await pageRun(main, seg(1)); }
    else if (parts[0] === "runners") { title = "runners"; await pageRunners(main); }
    else if (parts[0] === "notifiers") { title = "notifiers"; await pageNotifiers(main); }
    else main.append(h("h1", {}, "No such page"), h("p", {}, h("a", { href: "/ui/" }, "overview")));
  } catch (e) {
    showError(e);
  }
  document.title = title === "fangs" ? "fangs" : title + " · fangs";
  await Promise.all(loading);
  document.body.setAttribute("data-ready", "1");
}

function init() {
  takeTokenFromFragment();
  showCredential();
  document.getElementById("cred").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = document.getElementById("cred-token");
    if (t.value.trim()) sessionStorage.setItem(TOKEN_KEY, t.value.trim());
    t.value = "";
    location.reload();
  });
  document.getElementById("cred-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
  route();
}

document.addEventListener("DOMContentLoaded", init);
