// pb-inspect --html: the page's content (unit) and the page in a real browser (Debian's chromium,
// driven headless by playwright-core): it loads without console errors and shows the lanes,
// the messages, answers joined to calls, failures, time gaps and the object tables.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTraffic, parseCapture, captureTraffic } from "../../src/inspect/capture.ts";
import { escapeHtml, hexDump, htmlPage } from "../../src/inspect/html.ts";
import { ROOT, runBin } from "./support.ts";
import { encode } from "../../src/banana/index.ts";

const CHROMIUM = process.env.PB_INSPECT_CHROMIUM ?? "/usr/bin/chromium";
const PCAP = join(ROOT, "fixtures", "pcap");

/** The login-wrong-password recording (real Twisted traffic, through the proxy: three logins, two refused) with 2.5 s added before its 9th write: a time gap. */
function failuresWithGap(): string {
  const dir = join(PCAP, "twisted-failures-sll.proxy");
  const file = join("proxy-2", "conn-1", "capture.json");
  const cap = JSON.parse(readFileSync(join(dir, file), "utf8")) as { writes: { t: number }[]; title?: string };
  cap.writes.forEach((w, i) => {
    if (i >= 8) w.t += 2500;
  });
  cap.title = "twisted-failures-sll.proxy conn-1 with 2.5 s added before write 9 (a time gap)";
  return JSON.stringify(cap);
}

describe("the --html page (content)", () => {
  it("is self-contained: no external scripts, styles, images or fonts", () => {
    const page = htmlPage([{ title: "t", traffic: loadTraffic([join(PCAP, "twisted-login.proxy", "proxy-1", "conn-1")]) }]);
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=|url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg")/);
    expect(page).toContain('<script type="application/json" id="pb-data">');
  });

  it("escapes everything that came from the peer", () => {
    // a string argument holding markup: [message, 1, root, echo, 1, [tuple, "<img src=x onerror=alert(1)></script>"], [dictionary]]
    const b = (s: string) => new TextEncoder().encode(s);
    const hex = Buffer.from(encode(["message", 1, b("root"), b("echo"), 1, ["tuple", b("</script><img src=x onerror=alert(1)>")], ["dictionary"]], { dialect: "pb" })).toString("hex");
    const cap = { writes: [{ dir: "s2c", hex: "02800282706204826e6f6e65" }, { dir: "c2s", hex: "02827062" }, { dir: "c2s", hex }] };
    const page = htmlPage([{ title: "<b>x</b>", traffic: captureTraffic(parseCapture(JSON.stringify(cap)), "evil") }]);
    expect(page).not.toContain("<img src=x");
    expect(page).not.toContain("<b>x</b>");
    expect(page).toContain("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(escapeHtml(`<>&"'`)).toBe("&lt;&gt;&amp;&quot;&#39;");
  });

  it("hex dumps show offsets, 16 bytes a line and printable ASCII", () => {
    expect(hexDump("02800282706204826e6f6e6502827062")).toBe("000000  02 80 02 82 70 62 04 82 6e 6f 6e 65 02 82 70 62  ....pb..none..pb");
  });
});

let playwright: typeof import("playwright-core") | null = null;
try {
  playwright = await import("playwright-core");
} catch {
  playwright = null;
}
const browserMissing = !existsSync(CHROMIUM) ? `chromium not found at ${CHROMIUM} (apt-get install chromium)` : !playwright ? "playwright-core is not installed" : null;
if (browserMissing) console.warn(`SKIPPED: pb-inspect --html browser tests: ${browserMissing}`);

describe.skipIf(browserMissing !== null)("the --html page in a real browser (chromium, headless)", () => {
  let work = "";
  let context: import("playwright-core").BrowserContext;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "pb-inspect-html-"));
    context = await playwright!.chromium.launchPersistentContext(join(work, "profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1300, height: 900 },
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function open(file: string) {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) errors.push(`network request: ${r.url()}`);
    });
    await page.goto(`file://${file}`);
    await page.waitForSelector("html[data-ready]", { timeout: 10_000 });
    return { page, errors };
  }

  it("a Twisted conversation with failures and a time gap: lanes, arrows, joins, failures, the gap, tables, values and bytes", async () => {
    const capture = join(work, "failures.json");
    writeFileSync(capture, failuresWithGap());
    const html = join(work, "failures.html");
    const r = await runBin(["decode", capture, "--html", html]);
    expect(r.code).toBe(0);
    const { page, errors } = await open(html);

    expect(await page.locator(".lane.client").first().textContent()).toBe("client");
    expect(await page.locator(".lane.server").first().textContent()).toBe("server");
    const expected = loadTraffic([capture]);
    expect(expected.chunks.length).toBeGreaterThan(8);
    // one arrow per PB item: the transcript's item count
    const messages = await page.locator('.row[data-kind="message"]').count();
    const answers = await page.locator('.row[data-kind="answer"]').count();
    const failures = await page.locator('.row[data-kind="error"]').count();
    expect(messages).toBeGreaterThanOrEqual(3);
    expect(failures).toBeGreaterThanOrEqual(1);
    expect(await page.locator(".row.c2s .arrow.c2s .line").count()).toBeGreaterThan(0);
    expect(await page.locator(".row.s2c .arrow.s2c .line").count()).toBeGreaterThan(0);
    // every answer and error is joined to its call; the error's join is red
    expect(await page.locator("svg.joins path.join").count()).toBe(answers + failures);
    expect(await page.locator('svg.joins path.join[stroke="#cf222e"]').count()).toBe(failures);
    // failures marked
    const fail = page.locator(".row.fail").first();
    expect(await fail.locator(".mark").textContent()).toBe("✗");
    expect(await fail.locator(".text").textContent()).toMatch(/^error #\d+ \(root\.login\): twisted\.cred\.error\.UnauthorizedLogin|^error #\d+ \(obj \d+\.respond\): twisted\.cred\.error\.UnauthorizedLogin/);
    // the time gap
    expect(await page.locator(".row.timegap .gapline").first().textContent()).toMatch(/⋯ 2\.5\d\d s without traffic ⋯/);
    // expanding a message shows its value and its bytes
    const first = page.locator('.row[data-kind="message"]').first();
    await first.locator("summary").click();
    expect(await first.locator("pre.python").isVisible()).toBe(true);
    expect(await first.locator("pre.bytes").textContent()).toMatch(/^000000 {2}([0-9a-f]{2} )+/);
    mkdirSync(join(ROOT, "reports"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "reports", "pb-inspect-html-failures.png"), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("a capture with Cacheables from tcpdump: several connections, and the object tables as they change", async () => {
    const html = join(work, "cache.html");
    const r = await runBin(["decode", join("fixtures", "pcap", "tspb-cache.pcap"), "--html", html]);
    expect(r.code).toBe(0);
    const { page, errors } = await open(html);
    expect(await page.locator("section.conv").count()).toBe(4);
    const conv = page.locator("section.conv").first();
    // after the answer that hands out the cache, the server's cache is listed with one copy
    const handOut = conv.locator('.row[data-kind="answer"]').first();
    expect(await handOut.locator(".text").textContent()).toContain("<cache #1 conformance.Counter");
    await handOut.locator("summary").click();
    expect(await conv.locator(".tables .where .at").textContent()).toContain("answer #1");
    expect(await conv.locator(".tables tbody tr").count()).toBe(1);
    expect(await conv.locator(".tables tbody tr td").allTextContents()).toEqual(["server", "cache", "1", "cache of conformance.Counter", "1"]);
    // before it (the call), no object was out yet
    await conv.locator('.row[data-kind="message"]').first().locator("summary").click();
    expect(await conv.locator(".tables .empty").textContent()).toContain("no objects");
    await page.screenshot({ path: join(ROOT, "reports", "pb-inspect-html-cache.png") });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
