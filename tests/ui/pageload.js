// One page in headless chromium, timed: from navigation to the page's
// data-ready mark (every API call answered and drawn), with the requests
// it made and their bytes. Prints JSON. For tests/bench/bench_ui.
//   node pageload.js CHROMIUM BASE PATH TOKEN [REPEAT]
"use strict";

const puppeteer = require("puppeteer-core");

async function main() {
  const [chromium, base, path, token, repeat] = process.argv.slice(2);
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
      "--disable-background-networking", "--disable-component-update"] });
  const out = { ms: [], requests: 0, bytes: 0, nodes: 0 };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(base + "/ui/#token=" + encodeURIComponent(token), { waitUntil: "load" });
    await page.waitForSelector("body[data-ready]");
    await page.setCacheEnabled(false);
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    let requests = 0, bytes = 0;
    cdp.on("Network.loadingFinished", (e) => { requests++; bytes += e.encodedDataLength; });
    for (let i = 0; i < Number(repeat || 3); i++) {
      requests = bytes = 0;
      const t0 = Date.now();
      await page.goto(base + path, { waitUntil: "load" });
      await page.waitForSelector("body[data-ready]", { timeout: 120000 });
      out.ms.push(Date.now() - t0);
      out.requests = requests;
      out.bytes = bytes;
    }
    out.nodes = await page.$$eval("*", (l) => l.length);
    out.error = await page.$eval("#error", (e) => (e.hidden ? "" : e.textContent));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
