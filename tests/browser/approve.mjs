// A person approving from their email, in headless Chromium: open the link, read the page,
// press Approve; then press Approve on a second copy of the page, opened before the decision,
// which must be refused. Prints what it saw as JSON; saves a screenshot of the page.
//
//   node tests/browser/approve.mjs <approve-link> <screenshot.png>
import { chromium } from "playwright-core";

const [link, screenshot] = process.argv.slice(2);
if (!link || !screenshot) {
  console.error("usage: node approve.mjs <approve-link> <screenshot.png>");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
  ],
});
try {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const first = await context.newPage();
  const second = await context.newPage();
  const opened = await first.goto(link);
  await second.goto(link);
  const heading = (await first.textContent("h1"))?.trim();
  const buttons = await first.getByRole("button").allTextContents();
  await first.screenshot({ path: screenshot, fullPage: true });

  const [approved] = await Promise.all([first.waitForNavigation(), first.getByRole("button", { name: "Approve" }).click()]);
  const outcome = (await first.innerText("main"))?.trim().replace(/\s*\n+\s*/g, " — ");
  const [again] = await Promise.all([second.waitForNavigation(), second.getByRole("button", { name: "Approve" }).click()]);
  const refused = (await second.innerText("main"))?.trim().replace(/\s*\n+\s*/g, " — ");

  console.log(
    JSON.stringify({
      page_status: opened.status(),
      heading,
      buttons,
      approve_status: approved.status(),
      outcome,
      second_status: again.status(),
      second: refused,
    }),
  );
} finally {
  await browser.close();
}
