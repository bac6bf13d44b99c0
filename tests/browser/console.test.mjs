// The operator signs in, publishes a dataset through the form, and finds it in /catalog.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, launch, screenshot } from "./lib.mjs";

const TOKEN = process.env.ALLMENDE_ADMIN_TOKEN;
let browser;
let page;

before(async () => {
  browser = await launch();
  const context = await browser.newContext({ locale: "de-DE" });
  page = await context.newPage();
});
after(async () => { await browser?.close(); });

test("the console requires a sign-in", async () => {
  await page.goto(BASE + "/admin/");
  assert.match(page.url(), /\/admin\/login$/);
  await screenshot(page, "console-login");
});

test("a post without the CSRF token is refused", async () => {
  const response = await page.request.post(BASE + "/admin/login", { form: { token: TOKEN } });
  assert.equal(response.status(), 403);
  const published = await page.request.post(BASE + "/admin/console/datasets", {
    form: { title_de: "Eingeschleust", description_de: "x", contact_email: "a@b.example" },
    maxRedirects: 0,
  });
  assert.ok([303, 403].includes(published.status()), `status ${published.status()}`);
  const catalog = await page.request.get(BASE + "/catalog", { headers: { Accept: "text/turtle" } });
  assert.doesNotMatch(await catalog.text(), /Eingeschleust/);
});

test("signing in with the admin token opens the console", async () => {
  await page.goto(BASE + "/admin/login");
  await page.getByLabel(/Zugangsschlüssel/).fill(TOKEN);
  await page.getByRole("button", { name: "Anmelden" }).click();
  await page.waitForURL(BASE + "/admin/");
  assert.match(await page.locator("h1").innerText(), /Betriebskonsole/);
  await screenshot(page, "console-overview");
});

test("a dataset published through the form appears in /catalog", async () => {
  await page.goto(BASE + "/admin/console/datasets");
  await page.getByLabel("Titel (deutsch)").fill("Bodenfeuchte Sportplatz (Beispieldaten)");
  await page.getByLabel("Titel (englisch)").fill("Soil moisture at the sports field (sample data)");
  await page.getByLabel("Beschreibung (deutsch)").fill("Bodenfeuchte in 20 cm Tiefe, stündlich. Beispieldaten.");
  await page.getByLabel("Schlagwörter, durch Komma getrennt").fill("Boden, Feuchte");
  await page.getByLabel("Thema").selectOption("AGRI");
  await page.getByLabel("Kontakt (E-Mail)").fill("daten@struckum.example");
  await page.getByRole("radio", { name: "Nur für Forschungszwecke" }).check();
  await screenshot(page, "console-publish-form");
  await page.getByRole("button", { name: "Datensatz veröffentlichen" }).click();
  await page.waitForURL(/\/datasets\/bodenfeuchte-sportplatz/);
  await screenshot(page, "console-published-dataset");
  const catalog = await page.request.get(BASE + "/catalog", { headers: { Accept: "text/turtle" } });
  assert.equal(catalog.status(), 200);
  assert.match(await catalog.text(), /Bodenfeuchte Sportplatz \(Beispieldaten\)/);
});

test("an agreement is granted through the form, and the audit log is one click away", async () => {
  await page.goto(BASE + "/admin/console/agreements");
  await page.getByLabel("Datensatz").selectOption({ label: "Bodenfeuchte Sportplatz (Beispieldaten)" });
  await page.getByLabel("Partner (IRI oder URL)").fill("https://uni-kiel.example/");
  await page.getByLabel("Zweck").selectOption({ label: "Forschung" });
  await screenshot(page, "console-agreement-form");
  await page.getByRole("button", { name: "Vereinbarung schließen" }).click();
  await page.waitForURL(BASE + "/admin/console/agreements");
  assert.ok(await page.getByText("https://uni-kiel.example/").count() >= 1);
  await screenshot(page, "console-agreements");
  await page.getByRole("link", { name: "Protokoll" }).click();
  await page.waitForURL(BASE + "/admin/console/audit");
  assert.match(await page.locator("h1").innerText(), /Protokoll/);
  await screenshot(page, "console-audit");
});

test("a sensor is registered through the form and shows on the map", async () => {
  await page.goto(BASE + "/admin/console/devices");
  await page.getByLabel(/Geräte-ID/).fill("70B3D57ED00AB0F1");
  await page.getByLabel("Bezeichnung").fill("Sportplatz Bodenfeuchte (Beispieldaten)");
  // an open dataset: a sensor of the research-only one above stays off the public map
  await page.getByLabel("Datensatz").selectOption({ label: "Raumklima Dorfgemeinschaftshaus (Beispieldaten)" });
  await page.getByLabel("Geräteprofil").selectOption("soil-moisture");
  await page.getByLabel(/Breitengrad/).fill("54,6152");
  await page.getByLabel(/Längengrad/).fill("8.9711");
  await screenshot(page, "console-devices-form");
  await page.getByRole("button", { name: "Sensor registrieren" }).click();
  await page.waitForURL(BASE + "/admin/console/devices");
  assert.ok(await page.getByText("Sportplatz Bodenfeuchte (Beispieldaten)").count() >= 1);
  await screenshot(page, "console-devices");
  // the map reads the projected store: wait until the registration has been projected
  const onMap = async () => {
    const sensors = await (await page.request.get(BASE + "/map/sensors.geojson")).json();
    return sensors.features.some((f) => f.id === "70b3d57ed00ab0f1");
  };
  const mapShows = async (wanted, what) => {
    const deadline = Date.now() + 10_000;
    while ((await onMap()) !== wanted) {
      assert.ok(Date.now() < deadline, what);
      await page.waitForTimeout(100);
    }
  };
  await mapShows(true, "the new sensor never reached the map");
  // and out again, so the citizen's walk finds the registry as the village seeded it
  await page.getByRole("button", { name: "Entfernen Sportplatz Bodenfeuchte (Beispieldaten)" }).click();
  await page.waitForURL(BASE + "/admin/console/devices");
  assert.equal(await page.getByText("Sportplatz Bodenfeuchte (Beispieldaten)").count(), 0);
  await mapShows(false, "the removed sensor stayed on the map");
  await page.getByRole("link", { name: "Datenraum" }).click();
  await page.waitForURL(BASE + "/admin/console/dataspace");
  assert.match(await page.locator("h1").innerText(), /Datenraum/);
  await screenshot(page, "console-dataspace");
});
