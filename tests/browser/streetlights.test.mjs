// A resident switches Lütjenholm's street lights in the demo setup: queued -> sent ->
// confirmed live, the lamps on the map go on and off again; a second press extends instead
// of sending a second command; a third, beyond the policy's count, is refused with its reason.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, launch, screenshot, accessibilityProblems, watchOrigins } from "./lib.mjs";

const NETWORK = process.env.ALLMENDE_NETWORK_URL;
const DEVICE = "ws558-dorfstrasse";
let browser;
let context;

before(async () => {
  browser = await launch();
  // a phone at the bus stop: the narrowest width the page is made for
  context = await browser.newContext({ locale: "de-DE", viewport: { width: 320, height: 640 } });
});
after(async () => { await browser?.close(); });

async function downlinks() {
  const response = await fetch(NETWORK + "/sample/downlinks");
  return (await response.json())[DEVICE];
}

async function litOnMap(page) {
  return (await page.getAttribute("#map", "data-lit")) || "";
}

test("press, watch it happen, extend, be refused, see the lamps go off", { timeout: 300_000 }, async () => {
  const page = await context.newPage();
  const foreign = watchOrigins(page);
  assert.equal((await page.goto(BASE + "/licht")).status(), 200);
  await page.waitForSelector("#map[data-drawn]");
  assert.equal(await litOnMap(page), "", "all lamps dark before anyone presses");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 320, `the page fits 320 px (is ${overflow} px wide)`);
  assert.deepEqual(await accessibilityProblems(page), [], "accessibility of /licht");
  await screenshot(page, "licht-before");

  // 1. the big button: a real button, named by its street
  const button = page.getByRole("button", { name: "Licht an: Dorfstraße (Beispiel)" });
  await button.click();
  await page.waitForURL(/\/licht\/schaltungen\/[0-9a-f]{32}$/);
  const status = page.locator("#licht-status");
  assert.equal(await status.getAttribute("aria-live"), "polite");
  await page.waitForSelector("#switching[data-state=confirmed]", { timeout: 30_000 });
  const seen = (await page.getAttribute("#switching", "data-seen")).split(" ");
  for (const step of ["queued", "sent", "confirmed"]) {
    assert.ok(seen.includes(step), `saw ${step} (saw ${seen.join(", ")})`);
  }
  assert.ok(seen.indexOf("queued") < seen.indexOf("sent") && seen.indexOf("sent") < seen.indexOf("confirmed"));
  assert.match(await status.innerText(), /bestätigt: das Licht ist an/);
  await page.waitForFunction(() => (document.getElementById("map").getAttribute("data-lit") || "").includes("dorfstrasse"));
  assert.deepEqual(await accessibilityProblems(page), [], "accessibility of the switching's page");
  await screenshot(page, "licht-confirmed");
  assert.equal(await downlinks(), 1);

  // 2. pressing again while it is on extends the window: no second command now
  await page.goto(BASE + "/licht");
  await page.getByRole("button", { name: "Licht an: Dorfstraße (Beispiel)" }).click();
  await page.waitForURL(/\/licht\/schaltungen\//);
  assert.match(await status.innerText(), /schon an: verlängert/);
  assert.equal(await downlinks(), 1, "the second press sent no second command");

  // 3. the policy allows two presses a night: the third is refused, and says why
  await page.goto(BASE + "/licht");
  const refused = page.waitForResponse((r) => r.request().method() === "POST");
  await page.getByRole("button", { name: "Licht an: Dorfstraße (Beispiel)" }).click();
  assert.equal((await refused).status(), 403);
  await page.waitForSelector("[data-refusal]");
  assert.match(await page.locator("#licht-status").innerText(), /Heute nicht mehr möglich: höchstens 2× pro Nacht\./);
  await screenshot(page, "licht-refused");

  // the lamps are on on the map until the (extended) window ends, then off
  await page.waitForSelector("#map[data-drawn]");
  await page.waitForFunction(() => (document.getElementById("map").getAttribute("data-lit") || "").includes("dorfstrasse"));
  await page.waitForFunction(
    () => !(document.getElementById("map").getAttribute("data-lit") || "").includes("dorfstrasse"),
    null, { timeout: 200_000, polling: 1000 },
  );
  await screenshot(page, "licht-off-again");
  assert.equal(await downlinks(), 2, "one command for the window and one for its extension");
  assert.deepEqual(foreign, [], "no tile server or CDN was contacted");
  await page.close();
});
