// A person approving from their email, in headless Chromium without JavaScript: open the link,
// read the page (one button: the link's own decision), press it, sign in at the organisation's
// OpenID Connect provider, press Approve on the signed-in page; then press the button of a
// second copy of the link's page, opened before the decision, which must be refused. Prints
// what it saw as JSON; saves screenshots of the link's page and the signed-in page.
//
//   node tests/browser/approve.mjs <approve-link> <screenshot.png> <email> <password>
import { chromium } from "playwright-core";

const [link, screenshot, email, password] = process.argv.slice(2);
if (!link || !screenshot || !email || !password) {
  console.error("usage: node approve.mjs <approve-link> <screenshot.png> <email> <password>");
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
const text = async (page) => (await page.innerText("main"))?.trim().replace(/\s*\n+\s*/g, " — ");
try {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const first = await context.newPage();
  const second = await context.newPage();
  const opened = await first.goto(link);
  await second.goto(link);
  const heading = (await first.textContent("h1"))?.trim();
  const buttons = await first.getByRole("button").allTextContents();
  await first.screenshot({ path: screenshot, fullPage: true });

  // The button sends the browser to the provider's sign-in page.
  await Promise.all([first.waitForURL((url) => !url.href.startsWith(link.split("?")[0])), first.getByRole("button").click()]);
  const provider = new URL(first.url()).origin;
  const providerHeading = (await first.textContent("h1"))?.trim();
  await first.getByLabel("Email").fill(email);
  await first.getByLabel("Password").fill(password);
  await Promise.all([
    first.waitForURL((url) => url.href.startsWith(link.split("?")[0]) && url.searchParams.has("code")),
    first.getByRole("button", { name: "Sign in" }).click(),
  ]);
  await first.waitForLoadState();
  const signedIn = await text(first);
  const signedInButtons = await first.getByRole("button").allTextContents();
  await first.screenshot({ path: screenshot.replace(/\.png$/, "-signed-in.png"), fullPage: true });

  const [approved] = await Promise.all([first.waitForNavigation(), first.getByRole("button", { name: "Approve" }).click()]);
  const outcome = await text(first);
  const [again] = await Promise.all([second.waitForNavigation(), second.getByRole("button").click()]);
  const refused = await text(second);

  console.log(
    JSON.stringify({
      page_status: opened.status(),
      heading,
      buttons,
      provider,
      provider_heading: providerHeading,
      signed_in: signedIn,
      signed_in_buttons: signedInButtons,
      approve_status: approved.status(),
      outcome,
      second_status: again.status(),
      second: refused,
    }),
  );
} finally {
  await browser.close();
}
