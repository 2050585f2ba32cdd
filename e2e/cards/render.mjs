// Draws pictures of our golden cards for the README, in headless Chromium
// driven by puppeteer-core (no browser download: the system chromium).
//
//   node render.mjs OUTDIR        # render.sh is the way in: it installs the packages first
//
// Teams: the adaptivecards npm library (Microsoft's renderer) draws each
// cards/adaptive golden with a HostConfig close to Teams' light theme, in a
// Teams-like chat frame (render/teams.css). Slack: there is no offline Block
// Kit renderer, so render/blockkit.js is our own approximation of Slack's look
// for the block types our goldens use: good for documentation pictures, not a
// test of what Slack draws.
//
// Offline and deterministic: every page is built with setContent and
// addScriptTag from local files, any network request aborts the run, the
// locale follows the card's language, the clock zone is UTC, and the viewport,
// the scale factor and the font hinting are fixed.
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";

const require = createRequire(import.meta.url);
const puppeteer = require("puppeteer-core");

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const out = process.argv[2];
// INDIR (optional): the core's showcase (go test ./bot -run TestShowcase -showcase=INDIR) with
// INDIR/teams/<view>.json and INDIR/slack/<view>.json; without it, the renderers' golden files.
const inDir = process.argv[3];
if (!out) {
  console.error("usage: node render.mjs OUTDIR [INDIR]");
  process.exit(2);
}
mkdirSync(out, { recursive: true });

// Which goldens become pictures, per platform. Slack has no form_error view
// (a modal shows its errors on the fields, via response_action).
const VIEWS = inDir ? showcaseViews(inDir) : {
  teams: ["list_en", "list_fr", "detail_en", "form_en", "form_error_en", "notification_en", "notification_fr", "confirmation_en"],
  slack: ["list_en", "list_fr", "detail_en", "form_en", "notification_en", "notification_fr", "confirmation_en"],
};
const MAX_BYTES = 400 * 1024;

function showcaseViews(dir) {
  const names = (platform) =>
    readdirSync(join(dir, platform))
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length))
      .sort();
  return { teams: names("teams"), slack: names("slack") };
}

function source(platform, view) {
  if (inDir) return join(inDir, platform, `${view}.json`);
  return join(root, "cards", platform === "teams" ? "adaptive" : "slack", "testdata", `${view}.golden.json`);
}

function chromiumPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    try {
      return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    } catch {
      // next
    }
  }
  throw new Error("no chromium on PATH (set CHROMIUM=/path/to/chrome)");
}

const file = (p) => readFileSync(p, "utf8");
const lib = {
  adaptivecards: require.resolve("adaptivecards/dist/adaptivecards.min.js"),
  adaptivecardsCss: require.resolve("adaptivecards/dist/adaptivecards.css"),
  markdownit: require.resolve("markdown-it/dist/markdown-it.min.js"),
};
const teamsHostConfig = JSON.parse(file(join(here, "render", "teams-hostconfig.json")));

function page(lang, css, body) {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">
<style>${css}</style></head><body>${body}</body></html>`;
}

async function drawTeams(p, card, lang) {
  const css = file(lib.adaptivecardsCss) + file(join(here, "render", "teams.css"));
  await p.setContent(
    page(lang, css, `<div id="shot"><div class="msg"><div class="avatar">CB</div><div>
<div class="meta"><b>crmbot</b>${lang === "fr" ? "09:30" : "9:30 AM"}</div><div class="bubble" id="card"></div></div></div></div>`),
  );
  await p.addScriptTag({ path: lib.markdownit });
  await p.addScriptTag({ path: lib.adaptivecards });
  await p.evaluate(
    (card, hostConfig) => {
      const AC = window.AdaptiveCards;
      // Teams renders TextBlock markdown; markdown-it without raw HTML is what the designer uses.
      const md = window.markdownit({ html: false, linkify: false, breaks: true });
      AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
        result.outputHtml = md.render(text);
        result.didProcess = true;
      };
      const ac = new AC.AdaptiveCard();
      ac.hostConfig = new AC.HostConfig(hostConfig);
      ac.parse(card, new AC.SerializationContext());
      const el = ac.render();
      if (!el) throw new Error("adaptivecards rendered nothing");
      document.getElementById("card").appendChild(el);
      // adaptivecards 3.0.6 puts a filtered ChoiceSet's raw value ("account:1") in its text box, where
      // Teams shows the chosen title: show the title, as a reader of the picture would see it in Teams.
      for (const input of ac.getAllInputs()) {
        if (!(input instanceof AC.ChoiceSetInput) || input.style !== "filtered" || !input.defaultValue) continue;
        const choice = input.choices.find((c) => c.value === input.defaultValue);
        const box = input.renderedElement && input.renderedElement.querySelector("input[type=text]");
        if (choice && box) box.value = choice.title;
      }
    },
    card,
    teamsHostConfig,
  );
}

async function drawSlack(p, payload, lang) {
  await p.setContent(page(lang, file(join(here, "render", "slack.css")), `<div id="shot"></div>`));
  await p.addScriptTag({ path: join(here, "render", "blockkit.js") });
  await p.evaluate(
    (payload, lang) => {
      document.getElementById("shot").appendChild(window.BlockKit.render(payload, { locale: lang }));
    },
    payload,
    lang,
  );
}

const started = Date.now();
const browser = await puppeteer.launch({
  executablePath: chromiumPath(),
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--font-render-hinting=none", "--hide-scrollbars", "--force-color-profile=srgb"],
});
let failed = 0;
try {
  const p = await browser.newPage();
  await p.setViewport({ width: 720, height: 600, deviceScaleFactor: 2 });
  await p.emulateTimezone("UTC");
  await p.setRequestInterception(true);
  const offline = [];
  p.on("request", (r) => {
    if (r.url().startsWith("data:") || r.url() === "about:blank") return r.continue();
    offline.push(r.url());
    return r.abort();
  });
  const pageErrors = [];
  p.on("pageerror", (e) => pageErrors.push(e.message));
  const cdp = await p.createCDPSession();

  for (const [platform, views] of Object.entries(VIEWS)) {
    for (const view of views) {
      const name = `${platform}-${view}.png`;
      const dest = join(out, name);
      const lang = view.endsWith("_fr") ? "fr" : "en";
      offline.length = 0;
      pageErrors.length = 0;
      try {
        const json = JSON.parse(file(source(platform, view)));
        await cdp.send("Emulation.setLocaleOverride", { locale: lang === "fr" ? "fr-FR" : "en-US" });
        if (platform === "teams") await drawTeams(p, json, lang);
        else await drawSlack(p, json, lang);
        await p.evaluate(() => document.fonts.ready);
        if (pageErrors.length) throw new Error(`page error: ${pageErrors.join("; ")}`);
        if (offline.length) throw new Error(`network request (the pictures are drawn offline): ${offline.join(", ")}`);
        const el = await p.$("#shot");
        await el.screenshot({ path: dest, omitBackground: false });
        const size = statSync(dest).size;
        const box = await el.boundingBox();
        console.log(`   ${name}  ${Math.round(box.width)}x${Math.round(box.height)} css px  ${(size / 1024).toFixed(0)} KiB`);
        if (size > MAX_BYTES) throw new Error(`${name} is ${size} bytes (> ${MAX_BYTES})`);
      } catch (e) {
        failed++;
        console.error(`FAIL ${name}: ${e.message}`);
      }
    }
  }
} finally {
  await browser.close();
}
for (const views of Object.entries(VIEWS)) {
  for (const view of views[1]) {
    const f = join(out, `${views[0]}-${view}.png`);
    if (!existsSync(f) || statSync(f).size === 0) {
      failed++;
      console.error(`FAIL ${f}: missing or empty`);
    }
  }
}
console.log(`   ${failed ? "FAILED" : "ok"}: pictures in ${out} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
