// Drives headless chromium through the fangs web UI (tests/ui/test_ui.py
// starts the servers and passes what to check in FANGS_UI_CASE, JSON).
// Every page must render with no console error, no uncaught exception
// and no failed request, except where a refusal is what is checked.
"use strict";

const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const C = JSON.parse(process.env.FANGS_UI_CASE);
let failures = 0;
const shots = [];

function check(cond, what) {
  if (cond) {
    console.log("ok   " + what);
  } else {
    failures++;
    console.log("FAIL " + what);
  }
}

async function newPage(browser) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.problems = [];
  page.allowed = []; // regexps of request URLs whose 4xx is expected now
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const loc = (m.location() && m.location().url) || "";
    // chromium's own "Failed to load resource" line for an expected refusal
    if (/Failed to load resource/.test(m.text()) && page.allowed.some((re) => re.test(loc))) return;
    page.problems.push("console: " + m.text() + " " + loc);
  });
  page.on("pageerror", (e) => page.problems.push("exception: " + e.message));
  page.on("requestfailed", (r) => page.problems.push("request failed: " + r.url() + " " + (r.failure() || {}).errorText));
  page.on("response", (r) => {
    if (r.status() >= 400 && !page.allowed.some((re) => re.test(r.url())))
      page.problems.push("HTTP " + r.status() + ": " + r.url());
  });
  return page;
}

async function visit(page, url, name) {
  page.problems.length = 0;
  await page.goto(C.base + url, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready]", { timeout: 20000 });
  const file = path.join(C.shots, C.mode + "-" + name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
  const err = await page.$eval("#error", (e) => (e.hidden ? "" : e.textContent));
  check(!err && page.problems.length === 0, C.mode + " " + name + " (" + url + ") renders cleanly" +
    (err ? "; error shown: " + err : "") + (page.problems.length ? "; " + page.problems.join("; ") : ""));
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);
const count = (page, sel) => page.$$eval(sel, (l) => l.length);
const visible = (page, sel) => page.$$eval(sel, (l) => l.filter((e) => e.offsetParent !== null).length);

async function setToken(page, token) {
  // the fragment is how `fangs ui` hands its token over; the page keeps it
  await page.goto(C.base + "/ui/#token=" + encodeURIComponent(token), { waitUntil: "load" });
  await page.waitForSelector("body[data-ready]");
}

async function runPage(page, runId) {
  const url = "/ui/runs/" + runId;
  await visit(page, url, "run");
  check((await count(page, "#findings .finding")) > 0, C.mode + " run page lists findings");
  check((await text(page, "#stats")).includes("events stored"), C.mode + " run page shows stats");
  // attacker text stays text
  const body = await text(page, "main");
  check(body.includes("<img src=x onerror=alert(1)>"), C.mode + " markup in a path is shown as text");
  check((await count(page, "main img")) === 0, C.mode + " markup in a path made no element");

  // the tree: npm -> sh -> node install.js -> sh -> sh -> cat, six levels
  const all = await count(page, "#tree li");
  check(all >= 7, C.mode + " tree has every process (" + all + ")");
  check((await count(page, "#tree .node.deviates")) > 0, C.mode + " deviating processes are highlighted");
  const chips = await page.$$eval("#tree li[data-pid='104'] > .node .chip", (l) => l.map((e) => e.textContent));
  check(chips.some((c) => c.startsWith("net_connect")), C.mode + " curl's node counts its net_connect: " + chips.join(", "));
  const origin = await page.$eval("#tree li[data-pid='102'] > .node .origin", (e) => e.textContent).catch(() => "");
  check(/ui-demo@\S+ postinstall/.test(origin), C.mode + " a script's node names its package and script: " + origin);
  await page.click("#tree-collapse");
  const collapsedVisible = await visible(page, "#tree .node");
  check(collapsedVisible === 1, C.mode + " collapse all leaves the root (" + collapsedVisible + " visible)");
  await page.click("#tree li[data-pid='100'] > .node .toggle");
  check((await visible(page, "#tree .node")) === 2, C.mode + " one click expands a node's children");
  await page.click("#tree-expand");
  check((await visible(page, "#tree .node")) === all, C.mode + " expand all shows every process");
  await (await page.$("#tree")).screenshot({ path: path.join(C.shots, C.mode + "-run-tree-expanded.png") });
  shots.push(path.join(C.shots, C.mode + "-run-tree-expanded.png"));

  // the filter narrows the tree to the processes that match and their ancestors
  await page.type("#tree-filter input[name=q]", "203.0.113.7");
  await page.click("#tree-filter button[type=submit]");
  await page.waitForFunction((n) => document.querySelectorAll("#tree li").length < n, { timeout: 10000 }, all)
    .catch(() => {});
  const narrowed = await page.$$eval("#tree li", (l) => l.map((e) => e.getAttribute("data-pid")));
  check(narrowed.length < all && narrowed.includes("104") && !narrowed.includes("106"),
    C.mode + " the filter by host narrows the tree: " + narrowed.join(","));
  await page.select("#tree-filter select[name=kind]", "file_open");
  await page.$eval("#tree-filter input[name=q]", (e) => { e.value = ".npmrc"; });
  await page.click("#tree-filter button[type=submit]");
  await page.waitForFunction(() => !!document.querySelector("#tree li[data-pid='106']"), { timeout: 10000 }).catch(() => {});
  const byPath = await page.$$eval("#tree li", (l) => l.map((e) => e.getAttribute("data-pid")));
  check(byPath.includes("106") && !byPath.includes("104"), C.mode + " the filter by kind and path narrows it: " + byPath.join(","));
  check((await visible(page, "#tree .node")) === byPath.length, C.mode + " a filtered tree is shown open");
  await (await page.$("#tree")).screenshot({ path: path.join(C.shots, C.mode + "-run-tree-filtered.png") });
  shots.push(path.join(C.shots, C.mode + "-run-tree-filtered.png"));
  check(page.problems.length === 0, C.mode + " tree interactions made no error: " + page.problems.join("; "));
}

// watch / unwatch, allowlist add / remove, as the operator
async function packageActions(page) {
  await page.click("#watch");
  await page.waitForFunction(() => document.querySelector("#watch").textContent === "Watch", { timeout: 10000 }).catch(() => {});
  check((await text(page, "#watch")) === "Watch", C.mode + " unwatch is done");
  await page.click("#watch");
  await page.waitForFunction(() => document.querySelector("#watch").textContent === "Unwatch", { timeout: 10000 }).catch(() => {});
  check((await text(page, "#watch")) === "Unwatch", C.mode + " watch is done");
  await page.select("#allow-add select[name=kind]", "sni");
  await page.type("#allow-add input[name=value]", "telemetry.example");
  await page.type("#allow-add input[name=note]", "metrics endpoint");
  await page.click("#allow-add button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#allowlist").textContent.includes("telemetry.example"),
    { timeout: 10000 }).catch(() => {});
  check((await text(page, "#allowlist")).includes("telemetry.example"), C.mode + " an allowlist entry is added");
  const file = path.join(C.shots, C.mode + "-package-allowlist.png");
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
  await page.click("#allowlist .allow-remove");
  await page.waitForFunction(() => !document.querySelector("#allowlist").textContent.includes("telemetry.example"),
    { timeout: 10000 }).catch(() => {});
  check(!(await text(page, "#allowlist")).includes("telemetry.example"), C.mode + " the allowlist entry is removed");
  check(page.problems.length === 0, C.mode + " package actions made no error: " + page.problems.join("; "));
}

async function promote(page, runId, expect) {
  await page.goto(C.base + "/ui/runs/" + runId, { waitUntil: "load" });
  await page.waitForSelector("body[data-ready]");
  page.problems.length = 0;
  await page.click("#promote");
  await page.waitForSelector("#promote ~ .msg, p + .msg", { timeout: 10000 }).catch(() => {});
  await page.waitForFunction(() => [...document.querySelectorAll(".msg")].some((m) => m.textContent), { timeout: 10000 })
    .catch(() => {});
  const msg = await page.$$eval(".msg", (l) => l.map((m) => m.className + ": " + m.textContent).join(" | "));
  const file = path.join(C.shots, C.mode + "-promote-" + expect + ".png");
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
  return msg;
}

// No token (an orchestrator without authentication, or a client
// certificate): a write carries the CSRF cookie's value in X-Fangs-CSRF.
async function csrfCase(page) {
  await visit(page, "/ui/runs/" + C.run, "run-no-token");
  // a write without the header is refused: what a page of another site could send
  page.allowed = [/\/promote$/];
  const st = await page.evaluate(async (id) => (await fetch("/v1/runs/" + id + "/promote", { method: "POST" })).status, C.run);
  check(st === 403, C.mode + " a write without the CSRF header is refused: " + st);
  page.allowed = [];
  const msg = await promote(page, C.run, "csrf");
  check(/msg ok.*promote: done/.test(msg), C.mode + " promote without a token, with the CSRF cookie and header: " + msg);
  const cookie = await page.evaluate(() => document.cookie);
  check(/fangs_csrf=/.test(cookie), C.mode + " the page got the fangs_csrf cookie");
  const review = await page.evaluate(async (id) => (await (await fetch("/v1/runs/" + id)).json()).run.review, C.run);
  check(review === "promoted", C.mode + " the API says the run is promoted: " + review);
}

async function main() {
  fs.mkdirSync(C.shots, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: C.chromium,
    headless: true,
    // root in a container: chromium's own sandbox needs user namespaces it may not get
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update"],
  });
  try {
    const page = await newPage(browser);
    if (C.csrf) {
      await csrfCase(page);
      return;
    }
    await setToken(page, C.operator);
    await visit(page, "/ui/", "overview");
    check((await text(page, "#card-watched .n")) === "1", C.mode + " overview counts one watched package");
    check((await text(page, "main")).includes(C.pending.slice(0, 12)), C.mode + " overview lists the pending run");
    check((await text(page, "#card-queued .n")) === "1", C.mode + " overview counts the queued job");
    await visit(page, "/ui/packages", "packages");
    check((await text(page, "main")).includes("ui-other"), C.mode + " packages lists every package");
    await visit(page, "/ui/packages/ui-demo", "package");
    check((await count(page, "#releases h3")) === 3, C.mode + " package page lists its three releases");
    await packageActions(page);
    await visit(page, "/ui/runs", "runs");
    check((await count(page, "main tbody tr")) === 5, C.mode + " runs lists the five runs");
    // paging: the API's cursor in the next page's address
    await visit(page, "/ui/runs?limit=2", "runs-page1");
    const seen = new Set(await page.$$eval("main tbody tr td:first-child", (l) => l.map((e) => e.textContent)));
    for (let i = 2; i <= 3; i++) {
      await Promise.all([page.waitForNavigation(), page.click("#next-page")]);
      await page.waitForSelector("body[data-ready]");
      for (const id of await page.$$eval("main tbody tr td:first-child", (l) => l.map((e) => e.textContent))) seen.add(id);
    }
    check(seen.size === 5 && (await count(page, "#next-page")) === 0 && page.problems.length === 0,
      C.mode + " three pages of two runs hold the five runs, and the last has no next page (" + seen.size + ")");
    await visit(page, "/ui/runs?min_severity=high", "runs-filtered");
    check((await count(page, "main tbody tr")) === C.deviating, C.mode + " the severity filter keeps the " +
      C.deviating + " run(s) with deviations left");
    await visit(page, "/ui/runs?state=queued", "runs-queued");
    check((await text(page, "main tbody")).includes("ui-queued"), C.mode + " the state filter finds the queued run");
    await visit(page, "/ui/runs?package=ui-other", "runs-package");
    check((await count(page, "main tbody tr")) === 1, C.mode + " the package filter keeps ui-other's run");
    await visit(page, "/ui/runners", "runners");
    const runners = await text(page, "main");
    check(runners.includes("ui-runner") && runners.includes("absent-runner"), C.mode + " runners and jobs are listed");
    await visit(page, "/ui/notifiers", "notifiers");
    check((await text(page, "main")).includes("ops") && (await count(page, "main a[href^='/ui/runs/']")) === 2,
      C.mode + " the notifier and its two deliveries (linked to their runs) are listed");
    await runPage(page, C.run);
    if (C.link) {
      // the link of a notifier message opens the run's page
      page.problems.length = 0;
      await page.goto(C.link, { waitUntil: "load" });
      await page.waitForSelector("body[data-ready]");
      const at = new URL(page.url()).pathname;
      check(at === "/ui/runs/" + C.run && (await count(page, "#findings .finding")) > 0 && page.problems.length === 0,
        C.mode + " the notifier message's link " + C.link + " opens the run's page (" + at + ")");
    }

    // promote: refused with a reader token (orchestrator), done with the operator's
    if (C.reader) {
      await setToken(page, C.reader);
      page.allowed = [/\/promote$/];
      const msg = await promote(page, C.run, "reader");
      check(/msg err.*refused.*403/.test(msg), C.mode + " promote with a reader token is refused, visibly: " + msg);
      page.allowed = [];
    }
    await setToken(page, C.operator);
    const ok = await promote(page, C.run, "operator");
    check(/msg ok.*promote: done/.test(ok), C.mode + " promote with the operator token is done: " + ok);
    const review = await page.evaluate(async (id, tok) => {
      const r = await fetch("/v1/runs/" + id, { headers: { Authorization: "Bearer " + tok } });
      return (await r.json()).run.review;
    }, C.run, C.operator);
    check(review === "promoted", C.mode + " the API says the run is promoted: " + review);

    // no credential: the page says it is refused
    await page.click("#cred-forget");
    await page.waitForSelector("body[data-ready]");
    page.allowed = [/\/v1\//];
    await page.goto(C.base + "/ui/runs/" + C.run, { waitUntil: "load" });
    await page.waitForSelector("body[data-ready]");
    const err = await page.$eval("#error", (e) => (e.hidden ? "" : e.textContent));
    check(/^401/.test(err), C.mode + " without a credential the page shows the refusal: " + err);
    check((await count(page, "#promote")) === 0, C.mode + " without a credential there is nothing to promote");
    const file = path.join(C.shots, C.mode + "-no-credential.png");
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
    page.allowed = [];
  } finally {
    await browser.close();
    console.log("screenshots:");
    for (const s of shots) console.log("  " + s);
  }
  if (failures) {
    console.log(failures + " check(s) failed");
    process.exit(1);
  }
}

main().catch((e) => {
  console.log("FAIL " + (e && e.stack ? e.stack : e));
  process.exit(1);
});
