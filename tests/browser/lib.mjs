// Shared browser setup: Debian's chromium through playwright-core, no browser download.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

export const BASE = process.env.ALLMENDE_BASE_URL;
export const ARTIFACTS = process.env.ALLMENDE_ARTIFACTS || "test-artifacts";
if (!BASE) throw new Error("ALLMENDE_BASE_URL is not set");

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

// Serious and critical WCAG 2.x A/AA violations on the current page.
export async function accessibilityProblems(page) {
  await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } })
  );
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

// Every request a page makes must stay on the node: no CDN, no tile server unless configured.
export function watchOrigins(page) {
  const foreign = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["http:", "https:"].includes(url.protocol)) return;
    if (url.origin !== new URL(BASE).origin) foreign.push(request.url());
  });
  return foreign;
}

// Sign in to the console with an admin token, in whichever language the page is.
export async function signIn(page, token) {
  await page.goto(BASE + "/admin/login");
  await page.locator("#token").fill(token);
  await page.locator("form[action='/admin/login'] button[type=submit]").click();
  await page.waitForURL(BASE + "/admin/");
}
