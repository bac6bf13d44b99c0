// Every portal page and every console page, in German and in English, as a browser shows them:
// no text of the other language's catalog (an untranslated label), no raw code (snake_case key,
// licence code, IRI, CODE_IN_CAPITALS), and on German pages no US-formatted number or date.
// The rules come from tests/web/i18n_words.py (ALLMENDE_I18N), the same the page tests use.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { BASE, launch, screenshot, signIn } from "./lib.mjs";

const RULES = JSON.parse(process.env.ALLMENDE_I18N || "null");
if (!RULES) throw new Error("ALLMENDE_I18N is not set");
const RAW_CODE = new RegExp(RULES.rawCode, "g");
const US_NUMBER = new RegExp(RULES.usNumber, "g");
const US_DATE = new RegExp(RULES.usDate, "g");
// At least these; every page the navigation links is visited too, so new pages are covered.
const PORTAL = ["/", "/map", "/data", "/region", "/usage", "/sparql", "/catalog"];
const CONSOLE = [
  "/admin/", "/admin/console/devices", "/admin/console/datasets", "/admin/console/agreements",
  "/admin/console/audit", "/admin/console/dataspace", "/admin/console/sessions",
];

async function navigation(page, path, selector) {
  await page.goto(BASE + path);
  const hrefs = await page.$$eval(selector, (links) => links.map((a) => a.href));
  return hrefs.map((href) => new URL(href)).filter((url) => url.origin === new URL(BASE).origin)
    .map((url) => url.pathname);
}
const LOCALES = { de: "de-DE", en: "en-GB" };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// What a reader reads on the page: text, labels of controls, options, titles; not scripts,
// code, queries, nor parts marked as another language (the switch to the other language).
async function readable(page, language) {
  return page.evaluate((language) => {
    const skipped = new Set(["SCRIPT", "STYLE", "CODE", "PRE", "TEXTAREA", "TEMPLATE", "NOSCRIPT"]);
    const excluded = (element) => {
      for (let e = element; e; e = e.parentElement) {
        if (skipped.has(e.tagName)) return true;
        const lang = e.getAttribute && e.getAttribute("lang");
        if (lang && lang !== language) return true;
      }
      return false;
    };
    const parts = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!excluded(node.parentElement)) parts.push(node.textContent);
    }
    for (const element of document.querySelectorAll("[aria-label], [title], [placeholder], [alt]")) {
      if (excluded(element)) continue;
      for (const name of ["aria-label", "title", "placeholder", "alt"]) {
        const value = element.getAttribute(name);
        if (value) parts.push(value);
      }
    }
    parts.push(document.title);
    return parts.map((part) => part.trim()).filter((part) => part);
  }, language);
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// A phrase of several words counts anywhere; a single word only as a whole label, so that a
// German word in a dataset's German title (data) does not count, but a German heading does.
function problems(parts, language) {
  const other = language === "de" ? "en" : "de";
  const text = parts.join(" ").replace(/\s+/g, " ");
  const whole = new Set(parts.map((part) => part.replace(/:\s*$/, "").trim()));
  const found = [];
  for (const phrase of RULES.phrases[other]) {
    const hit = phrase.includes(" ")
      ? new RegExp(`(?<![\\p{L}\\d_-])${escape(phrase)}(?![\\p{L}\\d_-])`, "u").test(text)
      : whole.has(phrase);
    if (hit) found.push(`untranslated (${other}): ${phrase}`);
  }
  for (const match of text.match(RAW_CODE) || []) found.push(`raw code: ${match}`);
  if (language === "de") {
    for (const match of text.match(US_NUMBER) || []) found.push(`US number: ${match}`);
    for (const match of text.match(US_DATE) || []) found.push(`US date: ${match}`);
  }
  return found;
}

// Pages the portal links to: datasets, the village's sensors and the neighbours'.
async function linkedPages(page) {
  const found = new Set();
  for (const start of ["/", "/map", "/data"]) {
    await page.goto(BASE + start);
    const hrefs = await page.$$eval("main a[href]", (links) => links.map((a) => a.href));
    for (const href of hrefs) {
      const url = new URL(href);
      if (url.origin !== new URL(BASE).origin) continue;
      if (/^\/(datasets|sensors|villages)\/[^?#]+$/.test(url.pathname)) found.add(url.pathname);
    }
  }
  return [...found].sort();
}

for (const language of ["de", "en"]) {
  test(`every page reads as ${language} without codes`, async () => {
    const context = await browser.newContext({ locale: LOCALES[language] });
    const page = await context.newPage();
    try {
      await page.goto(`${BASE}/?lang=${language}`); // the switch remembers the choice (cookie)
      const portal = new Set([...PORTAL, ...await navigation(page, "/", "header nav a")]);
      portal.delete("/admin/");
      const extra = await linkedPages(page);
      assert.ok(extra.some((p) => p.startsWith("/sensors/")), "a sensor page is linked");
      assert.ok(extra.some((p) => p.startsWith("/datasets/")), "a dataset page is linked");
      await signIn(page, process.env.ALLMENDE_ADMIN_TOKEN);
      const consolePages = new Set([...CONSOLE, ...await navigation(page, "/admin/", "nav.subnav a")]);
      // each registered sensor's console page too
      await page.goto(BASE + "/admin/console/devices");
      const devices = [...new Set((await page.$$eval("main a[href^='/admin/console/devices/']",
        (links) => links.map((a) => new URL(a.href).pathname))))];
      assert.ok(devices.length > 0, "the console links each sensor's page");
      const report = [];
      console.log(`${language}: ${[...portal, ...extra, ...consolePages, ...devices].join(" ")}`);
      for (const path of [...portal, ...extra, ...consolePages, ...devices]) {
        const response = await page.goto(BASE + path);
        assert.equal(response.status(), 200, path);
        assert.equal(await page.getAttribute("html", "lang"), language, `${path} is in ${language}`);
        const parts = await readable(page, language);
        assert.ok(parts.join(" ").length > 100, `${path} has text`);
        for (const problem of problems(parts, language)) report.push(`${path}: ${problem}`);
      }
      await screenshot(page, `i18n-${language}-last`);
      assert.deepEqual(report, [], report.join("\n"));
    } finally {
      await context.close();
    }
  });
}

test("the detector finds an English label, a code and US formats on a German page", async () => {
  const context = await browser.newContext({ locale: "de-DE" });
  const page = await context.newPage();
  await page.setContent(
    '<html lang="de"><body><p>Datensätze</p><p>Last heard 1,234.5 am 12/07/2026, UPDATE_CONT, ' +
    'dl-de/by-2-0</p><h2>Datasets</h2><p>Home office Datasets survey</p><a lang="en">English</a>' +
    '<pre>SELECT ?s_p</pre></body></html>'
  );
  const found = problems(await readable(page, "de"), "de");
  await context.close();
  for (const expected of ["untranslated (en): Last heard", "US number: 1,234.5", "US date: 12/07/2026",
                          "raw code: UPDATE_CONT", "raw code: dl-de/by-2-0", "untranslated (en): Datasets"]) {
    assert.ok(found.includes(expected), `${expected} in ${found}`);
  }
  assert.ok(!found.some((f) => /English|s_p|Home/.test(f)), found.join(", "));
});
