// End-to-end tests of Gazette in headless Chromium, driven by
// playwright-core. Started by tests/browser.rs, which runs the real server
// on a temporary database and ingests the stories this script reads.
//
// Usage: node e2e.mjs BASE_URL ARTIFACT_DIR
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error("usage: node e2e.mjs BASE_URL ARTIFACT_DIR");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

const VIEWPORTS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];
const SCHEMES = ["light", "dark"];

let failures = 0;
function check(condition, message) {
  if (condition) {
    console.log(`  ok   ${message}`);
  } else {
    failures += 1;
    console.log(`  FAIL ${message}`);
  }
}

/// Runs axe-core inside the page (through DevTools, so the page's strict
/// CSP stays on) and fails on serious or critical findings.
async function axe(page, label) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }),
  );
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) {
    console.log(`       ${v.impact} ${v.id}: ${v.help}`);
    for (const node of v.nodes.slice(0, 3)) console.log(`         at ${node.target.join(" ")}`);
  }
  const minor = results.violations.length - bad.length;
  check(
    bad.length === 0 && results.passes.length > 0,
    `${label}: axe finds no serious or critical violation (${results.passes.length} rules passed, ${minor} minor/moderate)`,
  );
}

async function shot(page, name) {
  await page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: false });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});

try {
  for (const viewport of VIEWPORTS) {
    for (const scheme of SCHEMES) {
      const label = `${viewport.name}/${scheme}`;
      console.log(`# ${label}`);
      const context = await browser.newContext({
        viewport: { width: viewport.width, height: viewport.height },
        colorScheme: scheme,
      });
      const page = await context.newPage();
      const cspErrors = [];
      page.on("console", (msg) => {
        if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) cspErrors.push(msg.text());
      });
      const pageErrors = [];
      page.on("pageerror", (err) => pageErrors.push(String(err)));

      // Front page.
      await page.goto(base + "/");
      check((await page.locator(".lead-title").count()) === 1, `${label}: front page shows a lead story`);
      await shot(page, `front-${label.replace("/", "-")}`);
      await axe(page, `${label} front`);

      // An article, then a section reached from its sidebar.
      await page.locator(".lead-title a").click();
      await page.waitForURL(/\/articles\/\d+\//);
      check((await page.locator("h1.headline").count()) === 1, `${label}: article page has its headline`);
      check((await page.locator("aside.sidebar .card").count()) > 0, `${label}: article page has a sidebar`);
      check((await page.locator(".reading-time").count()) === 1, `${label}: article shows reading time`);
      await shot(page, `article-${label.replace("/", "-")}`);
      await axe(page, `${label} article`);
      if (viewport.name === "phone") {
        const story = await page.locator("article.story").boundingBox();
        const aside = await page.locator("aside.sidebar").boundingBox();
        check(aside.y > story.y + story.height - 1, `${label}: the sidebar sits below the story`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        check(overflow <= 0, `${label}: nothing overflows the phone's width (${overflow}px)`);
      }
      const sectionLink = page.locator("aside.sidebar .card-section a").first();
      const sectionName = (await sectionLink.textContent()).trim();
      await sectionLink.click();
      await page.waitForURL(/\/sections\//);
      check((await page.locator("h1.page-title").textContent()).trim() === sectionName, `${label}: sidebar section link opens ${sectionName}`);
      await shot(page, `section-${label.replace("/", "-")}`);
      await axe(page, `${label} section`);

      // A story told by two sources: the World section links its page.
      await page.goto(base + "/sections/world");
      const storyLink = page.locator(".card", { hasText: "Gull Point" }).locator('.card-also a[href^="/stories/"]');
      check((await storyLink.count()) === 1, `${label}: the World section shows the Gull Point story once, linking its page`);
      await storyLink.click();
      await page.waitForURL(/\/stories\/\d+/);
      // (From the second run on, the feed a run subscribed to mirrors them too.)
      check((await page.locator("ol.versions li", { hasText: "Gull Point" }).count()) >= 2, `${label}: the story page lists both versions`);
      check((await page.locator("li.is-copy", { hasText: "Harbour Daily" }).count()) === 1, `${label}: the copy is marked a copy`);
      await shot(page, `story-${label.replace("/", "-")}`);
      await axe(page, `${label} story`);

      // Search from the header box.
      await page.fill("#site-search", "ferry");
      await page.press("#site-search", "Enter");
      await page.waitForURL(/\/search\?q=ferry/);
      check((await page.locator(".search-results .card").count()) > 0, `${label}: search finds stories`);
      check((await page.locator(".search-results mark").count()) > 0, `${label}: search highlights matches`);
      await shot(page, `search-${label.replace("/", "-")}`);
      await axe(page, `${label} search`);

      // Sign in from the header's Account link, see the account, sign out.
      await page.goto(base + "/");
      await page.locator(".account-link").click();
      await page.waitForURL(/\/login\?next=/);
      await shot(page, `sign-in-${label.replace("/", "-")}`);
      await axe(page, `${label} sign-in`);
      // One account per run, so each starts with nothing read.
      const who = `reader-${label.replace("/", "-")}`;
      await page.fill("#login-name", who);
      await page.fill("#login-password", process.env.E2E_PASSWORD);
      await page.locator("form[action='/login'] button[type=submit]").click();
      await page.waitForURL(/\/account$/);
      check((await page.locator("text=Signed in as").count()) === 1, `${label}: signing in opens the account page`);
      await shot(page, `account-${label.replace("/", "-")}`);
      await axe(page, `${label} account`);

      // Signed in, the front page still reads like a newspaper: the card
      // actions are small text beside the byline, not bordered buttons.
      await page.goto(base + "/");
      const quiet = await page.locator(".section-block .card .toggle-read").first().evaluate((b) => {
        const style = getComputedStyle(b);
        const card = b.closest(".card").getBoundingClientRect();
        const meta = b.closest(".card").querySelector(".card-meta").getBoundingClientRect();
        const box = b.getBoundingClientRect();
        return { border: style.borderTopColor, font: parseFloat(style.fontSize), top: box.top - meta.top, inside: box.right <= card.right + 1 };
      });
      check(quiet.font < 13 && quiet.inside && Math.abs(quiet.top) < 12 && quiet.border === "rgba(0, 0, 0, 0)",
        `${label}: card actions are quiet and sit on the byline's line (${JSON.stringify(quiet)})`);
      await shot(page, `front-signed-in-${label.replace("/", "-")}`);
      await axe(page, `${label} front, signed in`);

      // Reading: a section, its unread count; open a story (it turns read), save one in place,
      // mark the section read.
      const readingPath = base + "/sections/world";
      await page.goto(readingPath);
      const unreadBefore = Number(await page.locator("[data-unread-total]").textContent());
      check(unreadBefore > 0, `${label}: the header counts unread stories (${unreadBefore})`);
      const firstCard = page.locator(".listing .card").first();
      const firstId = await firstCard.getAttribute("data-id");
      check(!(await firstCard.getAttribute("class")).includes("is-read"), `${label}: an unopened story is unread`);
      await firstCard.locator(".card-title a").click();
      await page.waitForURL(/\/articles\//);
      check((await page.locator("article.story.is-read").count()) === 1, `${label}: an opened story is read`);
      await page.goto(readingPath);
      check((await page.locator(`.card[data-id="${firstId}"]`).getAttribute("class")).includes("is-read"), `${label}: the listing shows the opened story read`);
      // Marking read in place moves the counts down by one.
      const totalBefore = Number(await page.locator("[data-unread-total]").textContent());
      const unreadId = await page.locator(".listing .card:not(.is-read)").first().getAttribute("data-id");
      const unreadCard = page.locator(`.listing .card[data-id="${unreadId}"]`);
      await unreadCard.locator(".toggle-read").click();
      await page.waitForFunction((n) => Number(document.querySelector("[data-unread-total]").textContent) === n, totalBefore - 1);
      check(true, `${label}: marking read in place updates the unread count`);
      await unreadCard.locator(".toggle-read").click();
      await page.waitForFunction((n) => Number(document.querySelector("[data-unread-total]").textContent) === n, totalBefore);
      // The keyboard: j selects the first story, m marks it, m again unmarks.
      if (viewport.name === "desktop") {
        const firstClass = () => page.locator(".listing .card").first().getAttribute("class");
        const wasRead = (await firstClass()).includes("is-read");
        await page.keyboard.press("j");
        await page.keyboard.press("m");
        await page.waitForFunction((read) => document.querySelector(".listing .card").classList.contains("is-read") !== read, wasRead);
        check(true, `${label}: m marks the selected story`);
        await page.keyboard.press("m");
        await page.waitForFunction((read) => document.querySelector(".listing .card").classList.contains("is-read") === read, wasRead);
      }
      const second = page.locator(".listing .card").nth(1);
      await second.locator(".toggle-save").click();
      await page.waitForFunction((id) => document.querySelector(`.card[data-id="${id}"] .toggle-save`).getAttribute("aria-pressed") === "true", await second.getAttribute("data-id"));
      check(page.url() === readingPath, `${label}: saving happens in place`);
      await shot(page, `reading-${label.replace("/", "-")}`);
      await axe(page, `${label} section, signed in`);
      await page.locator(".mark-all button").click();
      await page.waitForURL(readingPath);
      check((await page.locator(".listing .card:not(.is-read)").count()) === 0, `${label}: mark all read reads the section`);
      await page.goto(base + "/saved");
      check((await page.locator(".listing .card").count()) === 1, `${label}: the saved page holds the saved story`);
      await axe(page, `${label} saved`);
      await page.goto(base + "/unread");
      await axe(page, `${label} unread`);
      // Admin: create an ingest token, see it once, revoke it.
      await page.goto(base + "/admin/tokens");
      await page.fill("#token-name", `browser-${who}`);
      await page.locator("form[action='/admin/tokens'] button[type=submit]").click();
      const token = await page.locator("#new-token").inputValue();
      check(token.startsWith("gz_"), `${label}: a new token is shown once`);
      await axe(page, `${label} admin tokens`);
      await shot(page, `admin-tokens-${label.replace("/", "-")}`);
      await page.locator(`button[aria-label="Revoke browser-${who}"]`).click();
      await page.waitForURL(/done=revoked/);
      check((await page.locator(`button[aria-label="Revoke browser-${who}"]`).count()) === 0, `${label}: the revoked token is gone`);
      // Subscribe to a local feed: this site's own Atom feed.
      await page.goto(base + "/admin/feeds");
      await page.fill("#feed-url", base + `/sections/world/feed.atom?for=${who}`);
      await page.fill("#feed-section", `Mirror ${who}`);
      await page.locator("form[action='/admin/feeds'] button[type=submit]").click();
      await page.waitForURL(/done=subscribed/);
      check((await page.locator(".admin-feed").count()) >= 1, `${label}: the feed is listed after subscribing`);
      await axe(page, `${label} admin feeds`);
      await shot(page, `admin-feeds-${label.replace("/", "-")}`);
      await page.goto(base + "/admin/users");
      await axe(page, `${label} admin users`);
      // Sections: each one's form, with the merge beside it.
      await page.goto(base + "/admin/sections");
      check((await page.locator(".admin-section").count()) >= 3, `${label}: the sections page lists the sections`);
      await shot(page, `admin-sections-${label.replace("/", "-")}`);
      await axe(page, `${label} admin sections`);
      // Rules: a draft previewed on the newest stories, saved, deleted.
      await page.goto(base + "/admin/rules");
      await page.fill("#rule-name", `No ferries ${who}`);
      await page.fill("input[name=value1]", "ferry");
      await page.locator("button[formaction='/admin/rules/preview']").click();
      await page.waitForSelector(".rule-preview");
      const previewed = await page.locator(".rule-preview-list li").count();
      check(previewed >= 2, `${label}: the preview lists the ferry stories (${previewed})`);
      check((await page.inputValue("#rule-name")) === `No ferries ${who}`, `${label}: the draft is kept after a preview`);
      await axe(page, `${label} admin rules preview`);
      await page.locator("fieldset").last().scrollIntoViewIfNeeded();
      await shot(page, `admin-rules-${label.replace("/", "-")}`);
      await page.locator("form.rule-form button:not([formaction])").click();
      await page.waitForURL(/done=rule-added/);
      check((await page.locator(".rules-table tbody tr").count()) >= 1, `${label}: the saved rule is listed`);
      await page.locator(`button[aria-label="Delete No ferries ${who}"]`).click();
      await page.waitForURL(/done=rule-removed/);
      check((await page.locator(`button[aria-label="Delete No ferries ${who}"]`).count()) === 0, `${label}: the deleted rule is gone`);

      // A reader's own rule: two ferry stories muted (gone from their search
      // results once the rule has run over what is stored), then the rule
      // deleted and the stories back.
      await page.goto(base + "/account");
      await page.fill("#rule-name", `Quiet ferries ${who}`);
      await page.selectOption("#rule-field", "title");
      await page.fill("#rule-text", "strike, terminal");
      await page.locator("form[action='/account/rules'] button[type=submit]").click();
      await page.waitForURL(/done=rule-added/);
      check((await page.locator(`button[aria-label="Delete Quiet ferries ${who}"]`).count()) === 1, `${label}: the reader's rule is listed`);
      await axe(page, `${label} account with a rule`);
      await page.locator("#rules").scrollIntoViewIfNeeded();
      await shot(page, `account-rules-${label.replace("/", "-")}`);
      let muted = false;
      let left = [];
      for (let i = 0; i < 100 && !muted; i++) {
        await page.goto(base + "/search?q=ferry");
        left = await page.locator("article.card .card-title", { hasText: /strike|terminal/i }).allInnerTexts();
        muted = left.length === 0;
        if (!muted) await page.waitForTimeout(100);
      }
      const others = await page.locator("article.card").count();
      check(muted && others > 0, `${label}: stories with a muted word in their title leave the reader's search results, the others stay (left: ${JSON.stringify(left)}, others: ${others})`);
      await page.goto(base + "/account");
      await page.locator(`button[aria-label="Delete Quiet ferries ${who}"]`).click();
      await page.waitForURL(/done=rule-deleted/);
      await page.goto(base + "/search?q=ferry");
      const back = await page.locator("article.card .card-title", { hasText: /strike|terminal/i }).allInnerTexts();
      check(back.length >= 2, `${label}: with the rule deleted, the stories are back (${JSON.stringify(back)})`);

      await page.goto(base + "/account");
      await page.locator("form[action='/logout'] button[type=submit]").click();
      await page.waitForURL(base + "/");
      await page.goto(base + "/account");
      check(/\/login/.test(page.url()), `${label}: after signing out the account page asks to sign in`);

      // 404.
      const missing = await page.goto(base + "/sections/no-such-section");
      check(missing.status() === 404, `${label}: unknown section is a 404`);
      await axe(page, `${label} 404`);

      // Keyboard: j/k move between stories, Enter opens, / searches, ? helps.
      if (viewport.name === "desktop") {
        await page.goto(base + "/");
        await page.keyboard.press("j");
        const first = await page.evaluate(() => document.activeElement.textContent.trim());
        check((await page.locator("main .is-current").count()) === 1, `${label}: j selects a story`);
        await page.keyboard.press("j");
        await page.keyboard.press("j");
        const third = await page.evaluate(() => document.activeElement.textContent.trim());
        check(third !== first, `${label}: j moves to the next story`);
        await page.keyboard.press("k");
        await page.keyboard.press("k");
        const back = await page.evaluate(() => document.activeElement.textContent.trim());
        check(back === first, `${label}: k moves back`);
        await page.keyboard.press("Enter");
        await page.waitForURL(/\/articles\/\d+\//);
        check((await page.locator("h1.headline").textContent()).trim() === first, `${label}: Enter opens the selected story`);
        await page.keyboard.press("/");
        check(await page.evaluate(() => document.activeElement.id === "site-search"), `${label}: / focuses search`);
        await page.keyboard.press("Escape");
        await page.locator("body").click({ position: { x: 5, y: 5 } });
        await page.keyboard.press("?");
        check(await page.locator("#shortcuts").evaluate((d) => d.open), `${label}: ? shows the shortcuts`);
        await shot(page, `shortcuts-${label.replace("/", "-")}`);
        await page.keyboard.press("Escape");
        check(!(await page.locator("#shortcuts").evaluate((d) => d.open)), `${label}: Escape closes them`);
      }

      check(cspErrors.length === 0, `${label}: no Content-Security-Policy violations (${cspErrors.join("; ")})`);
      check(pageErrors.length === 0, `${label}: no script errors (${pageErrors.join("; ")})`);
      await context.close();
    }
  }

  // The narrowest phones still get a page that fits.
  console.log("# 360px");
  {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await context.newPage();
    for (const path of ["/", "/search?q=ferry", "/sections/world"]) {
      await page.goto(base + path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      check(overflow <= 0, `360px: ${path} fits the width (${overflow}px over)`);
    }
    await page.locator(".card-title a").first().click();
    await page.waitForURL(/\/articles\/\d+\//);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `360px: article fits the width (${overflow}px over)`);
    await shot(page, "article-360");
    await context.close();
  }

  // Everything still works with JavaScript off.
  console.log("# javascript disabled");
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(base + "/");
  await page.locator(".lead-title a").click();
  await page.waitForURL(/\/articles\/\d+\//);
  check((await page.locator(".story-body p").count()) > 0, "no-js: article readable");
  await page.fill("#site-search", "ferry");
  await page.press("#site-search", "Enter");
  await page.waitForURL(/\/search\?q=ferry/);
  check((await page.locator(".search-results .card").count()) > 0, "no-js: search works");
  await context.close();
} finally {
  await browser.close();
}

if (failures > 0) {
  console.log(`${failures} browser check(s) failed; screenshots in ${artifacts}`);
  process.exit(1);
}
console.log(`all browser checks passed; screenshots in ${artifacts}`);
