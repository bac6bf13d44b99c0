// A researcher's YASGUI on a page of another origin queries the node's /sparql and sees the table.
// The page is served here, on a second loopback port: a different origin, so every request the
// browser makes to the node is cross-origin and only CORS lets YASGUI read the answer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { BASE, launch, screenshot } from "./lib.mjs";

const require = createRequire(import.meta.url);
const BUILD = path.dirname(require.resolve("@zazuko/yasgui/build/yasgui.min.js"));
const ENDPOINT = `${BASE}/sparql`;
const QUERY = `PREFIX ex: <http://example.org/>
SELECT * WHERE { ?pond ex:label ?label ; ex:depth ?depth } ORDER BY ?label`;
const EXPECTED = JSON.parse(process.env.ALLMENDE_EXPECTED || "{}");

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>YASGUI</title>
<link rel="stylesheet" href="/yasgui.min.css"><script src="/yasgui.min.js"></script></head>
<body><div id="yasgui"></div><script>
window.yasgui = new Yasgui(document.getElementById("yasgui"), {
  requestConfig: { endpoint: ${JSON.stringify(ENDPOINT)}, method: "POST" },
  copyEndpointOnNewTab: false,
  persistenceId: null,
});
</script></body></html>`;

let browser;
let server;
let origin;

before(async () => {
  server = createServer((request, response) => {
    const files = { "/yasgui.min.js": "text/javascript", "/yasgui.min.css": "text/css" };
    const type = files[request.url];
    if (type) {
      response.writeHead(200, { "Content-Type": type });
      response.end(readFileSync(path.join(BUILD, request.url.slice(1))));
    } else if (request.url === "/") {
      response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      response.end(PAGE);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  assert.notEqual(origin, new URL(BASE).origin);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Only the two loopback origins: YASGUI's prefix look-ups and the like are cut off.
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    return [origin, new URL(BASE).origin].includes(url.origin) ? route.continue() : route.abort();
  });
  const errors = [];
  page.on("console", (message) => { if (message.type() === "error") errors.push(message.text()); });
  await page.goto(origin + "/");
  await page.waitForFunction(() => Boolean(window.yasgui && window.yasgui.getTab()));
  return { page, errors };
}

test("YASGUI from another origin runs a query and shows the rows as a table", async () => {
  const { page, errors } = await openPage();
  const sent = page.waitForResponse((response) => response.url().startsWith(ENDPOINT));
  await page.evaluate((query) => { window.yasgui.getTab().setQuery(query); }, QUERY);
  await page.locator(".yasqe_queryButton").click();
  const response = await sent;
  assert.equal(response.status(), 200);
  assert.equal(response.headers()["access-control-allow-origin"], "*");
  const rows = page.locator(".yasr table.dataTable tbody tr");
  await rows.first().waitFor({ timeout: 20000 }).catch(() => {});
  await screenshot(page, "yasgui-other-origin");
  assert.equal(await rows.count(), EXPECTED.labels.length, `rows; console errors: ${errors.join(" | ")}`);
  const labels = [];
  for (let index = 0; index < EXPECTED.labels.length; index++) {
    labels.push(await rows.nth(index).locator("td").nth(2).innerText());
  }
  assert.deepEqual(labels.map((text) => text.replace(/@de$/, "").replace(/"/g, "").trim()), EXPECTED.labels);
  const headers = await page.locator(".yasr table.dataTable thead th").allInnerTexts();
  assert.deepEqual(headers.map((text) => text.trim()).filter(Boolean), ["pond", "label", "depth"]);
  await page.close();
});

test("a script on another origin passes the preflight of a query sent as application/sparql-query", async () => {
  const { page } = await openPage();
  const answer = await page.evaluate(async ([endpoint, query]) => {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/sparql-query", Accept: "application/sparql-results+json" },
      body: query,
    });
    return { status: response.status, body: await response.json() };
  }, [ENDPOINT, QUERY]);
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.body.head.vars, ["pond", "label", "depth"]);
  assert.equal(answer.body.results.bindings.length, EXPECTED.labels.length);
  await page.close();
});
