// A citizen walks the portal: home, map, a sensor's chart, datasets, language, keyboard, phone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, launch, screenshot, accessibilityProblems, watchOrigins } from "./lib.mjs";

const EXPECTED = JSON.parse(process.env.ALLMENDE_EXPECTED || "{}");
let browser;
let context;

before(async () => {
  browser = await launch();
  context = await browser.newContext({ locale: "de-DE", viewport: { width: 1280, height: 900 } });
});
after(async () => { await browser?.close(); });

async function open(path) {
  const page = await context.newPage();
  const foreign = watchOrigins(page);
  const response = await page.goto(BASE + path);
  assert.equal(response.status(), 200, `${path} answered ${response.status()}`);
  return { page, foreign };
}

async function assertAccessible(page, name) {
  const problems = await accessibilityProblems(page);
  assert.deepEqual(problems, [], `${name}: serious or critical accessibility violations`);
}

test("home shows the village and its latest readings", async () => {
  const { page, foreign } = await open("/");
  assert.match(await page.locator("h1").innerText(), new RegExp(EXPECTED.name));
  const cards = await page.locator("ul.cards li.card").count();
  assert.ok(cards >= EXPECTED.sensors.length, `expected readings for every sensor, saw ${cards}`);
  await screenshot(page, "portal-home");
  await assertAccessible(page, "home");
  assert.deepEqual(foreign, []);
  await page.close();
});

test("map shows every sensor of the registry", async () => {
  const { page, foreign } = await open("/map");
  await page.waitForSelector("#map[data-markers]");
  const markers = Number(await page.getAttribute("#map", "data-markers"));
  assert.equal(markers, EXPECTED.sensors.length);
  assert.equal(await page.locator("#map path.leaflet-interactive").count(), EXPECTED.sensors.length);
  for (const device of EXPECTED.sensors) {
    assert.ok(await page.locator(`a[href="/sensors/${device}"]`).count() >= 1, `${device} listed`);
  }
  await screenshot(page, "portal-map");
  await assertAccessible(page, "map");
  assert.deepEqual(foreign, [], "no tile server or CDN was contacted");
  await page.close();
});

test("sensor chart draws exactly the points the API returns", async () => {
  const device = EXPECTED.sensors[0];
  const { page } = await open(`/sensors/${device}?range=year`);
  await page.waitForSelector("#chart[data-points]");
  const drawn = Number(await page.getAttribute("#chart", "data-points"));
  const dataset = await page.getAttribute("#chart", "data-dataset");
  const from = new Date(Date.now() - 365 * 86400000).toISOString();
  const api = await page.request.get(
    `${BASE}/datasets/${dataset}/observations?sensor=${device}&from=${encodeURIComponent(from)}&limit=10000`);
  assert.equal(api.status(), 200);
  const body = await api.json();
  const times = new Set();
  for (const s of body.series || [body]) for (const p of s.points || []) times.add(p.time);
  assert.ok(times.size > 0, "the API has points for the sensor");
  assert.equal(drawn, times.size);
  assert.equal(await page.locator("#chart canvas").count(), 1);
  await screenshot(page, "portal-sensor");
  await assertAccessible(page, "sensor");
  await page.close();
});

test("datasets are listed with their licences", async () => {
  const { page } = await open("/data");
  for (const title of EXPECTED.datasets) {
    assert.ok(await page.getByText(title).count() >= 1, `dataset ${title} listed`);
  }
  await screenshot(page, "portal-datasets");
  await assertAccessible(page, "datasets");
  // one dataset's own page: licence, policy in plain words, and its SPARQL example
  await page.getByRole("link", { name: EXPECTED.datasets[0] }).first().click();
  await page.waitForURL(/\/datasets\//);
  await screenshot(page, "portal-dataset");
  await assertAccessible(page, "dataset");
  await page.getByRole("link", { name: /SPARQL/ }).last().click();
  await page.waitForURL(/\/sparql/);
  await screenshot(page, "portal-sparql");
  await assertAccessible(page, "sparql");
  await page.close();
});

test("the region page lists the datasets of every village, with their origin", async () => {
  const { page, foreign } = await open("/region");
  assert.match(await page.locator("h1").innerText(), /Region/);
  for (const title of EXPECTED.datasets) {
    assert.ok(await page.getByText(title).count() >= 1, `dataset ${title} listed`);
  }
  await screenshot(page, "portal-region");
  await assertAccessible(page, "region");
  assert.deepEqual(foreign, []);
  await page.close();
});

test("the usage page tells how restricted data was used", async () => {
  const { page, foreign } = await open("/usage");
  assert.match(await page.locator("h1").innerText(), /nutzt/);
  await screenshot(page, "portal-usage");
  await assertAccessible(page, "usage");
  assert.deepEqual(foreign, []);
  await page.close();
});

test("English is one click away and remembered", async () => {
  const { page } = await open("/");
  await page.getByRole("link", { name: "English" }).click();
  await page.waitForURL(/lang=en/);
  assert.match(await page.locator("h1").innerText(), /Open data from/);
  await page.goto(BASE + "/map");
  assert.match(await page.locator("h1").innerText(), /Sensor map/);
  await page.goto(BASE + "/?lang=de");
  await page.close();
});

test("keyboard users reach the skip link first", async () => {
  const { page } = await open("/");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.className), "skip");
  await page.close();
});

test("pages fit a phone", async () => {
  const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, locale: "de-DE" });
  const page = await phone.newPage();
  await page.goto(BASE + "/");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px on a phone`);
  await screenshot(page, "portal-home-phone");
  await phone.close();
});
