// The example app (examples/dorf-app) against a served node: a resident signs in, reads the
// consent page in German, allows the app, the app reads restricted data; on "Meine Apps" the
// resident sees the app and its use and withdraws it; the app's next call is refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, launch, screenshot, accessibilityProblems } from "../browser/lib.mjs";

const APP = process.env.ALLMENDE_APP_URL;
const CLIENT = process.env.ALLMENDE_CLIENT_ID;
const DATASET = process.env.ALLMENDE_DATASET;
const CODE = process.env.ALLMENDE_RESIDENT_CODE;
let browser;
let context;

before(async () => {
  browser = await launch();
  context = await browser.newContext({ locale: "de-DE", viewport: { width: 390, height: 844 } });
});
after(async () => { await browser?.close(); });

test("sign in, allow, use, see on Meine Apps, withdraw, be refused", { timeout: 300_000 }, async () => {
  const page = await context.newPage();
  await page.goto(APP);
  await page.locator("#node").fill(BASE);
  await page.locator("#client").fill(CLIENT);
  await page.locator("#dataset").fill(DATASET);
  await page.locator("#distribution").fill("feuchte");
  await page.locator("#signin").click();

  // the node: sign in with the village's code, no name
  await page.waitForURL((url) => url.href.startsWith(BASE + "/oauth/authorize"));
  await page.locator("#code").fill(CODE);
  await page.getByRole("button", { name: "Anmelden" }).click();

  // the consent page in plain German, listing exactly what the app will see
  await page.waitForSelector("text=Was die App sehen wird");
  const consent = await page.locator("main").innerText();
  assert.match(consent, /Dorf-App erlauben\?/);
  assert.match(consent, /Dorfapp GmbH/);
  assert.ok(consent.includes(DATASET), consent);
  assert.match(consent, /Zweck: Forschung/);
  assert.deepEqual(await accessibilityProblems(page), [], "accessibility of the consent page");
  await screenshot(page, "app-consent");
  await page.getByRole("button", { name: "Erlauben" }).click();

  // back in the app: a token, and the restricted data
  await page.waitForURL((url) => url.href.startsWith(APP));
  await page.waitForSelector("#status:has-text('Angemeldet')");
  await page.locator("#load").click();
  await page.waitForSelector("#status:has-text('Daten geladen')");
  assert.match(await page.locator("#data").innerText(), /58\.25/);
  await screenshot(page, "app-data");

  // Meine Apps: the app, what it may see, its one use; withdraw
  const mine = await context.newPage();
  await mine.goto(BASE + "/apps/mine");
  const listed = await mine.locator("main").innerText();
  assert.match(listed, /Dorf-App/);
  assert.match(listed, /1 Nutzung Ihrer Erlaubnis/);
  assert.deepEqual(await accessibilityProblems(mine), [], "accessibility of Meine Apps");
  await screenshot(mine, "app-meine-apps");
  await mine.getByRole("button", { name: "Erlaubnis zurücknehmen" }).click();
  await mine.waitForSelector("text=Zurückgenommen");

  // the app's very next call is refused, with the reason
  await page.locator("#load").click();
  await page.waitForSelector("#status:has-text('Abgelehnt (403)')");
  assert.match(await page.locator("#status").innerText(), /withdrew/);
  assert.equal(await page.locator("#data").innerText(), "");
  await screenshot(page, "app-refused");
});
