// A resident reports a problem with the pin on the map: on a phone, by tap and by keyboard,
// no tile server contacted; the form without JavaScript still files by coordinates.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, launch, screenshot, accessibilityProblems, watchOrigins } from "./lib.mjs";

// Send the form and wait for the reporter's status page (or fail with what the page says).
async function send(page) {
  await page.getByRole("button", { name: "Meldung senden" }).click();
  try {
    await page.waitForURL(/\/meldungen\/status\//, { timeout: 10000 });
  } catch (error) {
    const text = (await page.locator("main").innerText()).slice(0, 1500);
    throw new Error(`not filed, at ${page.url()}: ${text}`);
  }
}

let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function phone(javaScriptEnabled = true) {
  return browser.newContext({
    locale: "de-DE", viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true,
    javaScriptEnabled,
  });
}

test("the pin on the map fills the place, by tap and by keyboard", async () => {
  const context = await phone();
  const page = await context.newPage();
  const foreign = watchOrigins(page);
  await page.goto(BASE + "/melden");
  await page.waitForSelector("#pick-map[data-ready]");
  await page.waitForSelector("#pick-map path");  // the village's boundary, drawn without tiles
  const box = await page.locator("#pick-map").boundingBox();
  assert.ok(box.width <= 390 && box.height > 150, `map fits the phone: ${JSON.stringify(box)}`);
  await page.locator("#pick-map").tap({ position: { x: box.width / 2 + 30, y: box.height / 2 - 20 } });
  const tapped = [await page.inputValue("#lat"), await page.inputValue("#long")].map(Number);
  assert.ok(tapped[0] > 54.548 && tapped[0] < 54.602, `latitude in Struckum: ${tapped[0]}`);
  assert.ok(tapped[1] > 8.9 && tapped[1] < 9.05, `longitude in Struckum: ${tapped[1]}`);
  assert.match(await page.locator("#pick-status").innerText(), /Markierung gesetzt/);
  // keyboard: focus the map, move it with the arrow keys, set the pin at the cross
  await page.locator("#pick-map").focus();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.getByRole("button", { name: "Markierung in die Kartenmitte setzen" }).focus();
  await page.keyboard.press("Enter");
  const keyed = [await page.inputValue("#lat"), await page.inputValue("#long")].map(Number);
  assert.ok(keyed[0] < tapped[0], `the map moved south before the pin was set: ${keyed} ${tapped}`);
  // typing coordinates moves the pin
  await page.fill("#lat", "54,5701");
  await page.fill("#long", "8.9702");
  await page.locator("#long").dispatchEvent("change");
  assert.equal(await page.getAttribute("#pick-map", "data-pin"), "54.57010,8.97020");
  await screenshot(page, "portal-report-pin");
  const problems = await accessibilityProblems(page);
  assert.deepEqual(problems, [], "serious or critical accessibility violations");
  await page.selectOption("#service_code", "muell");
  await page.fill("#description", "Sperrmüll am Knick (Test)");
  await send(page);
  assert.deepEqual(foreign, [], "no tile server or CDN was contacted");
  await context.close();
});

test("without JavaScript the form files by coordinates", async () => {
  const context = await phone(false);
  const page = await context.newPage();
  await page.goto(BASE + "/melden");
  assert.equal(await page.locator("#pick-map").isVisible(), false);
  assert.equal(await page.locator("#pick-centre").isVisible(), false);
  await page.selectOption("#service_code", "muell");
  await page.fill("#lat", "54.5801");
  await page.fill("#long", "8.9502");
  await page.fill("#description", "Glasscherben auf dem Radweg (Test)");
  await send(page);
  await context.close();
});
