// Browser test of drillctl's web console, driven by e2e/console_test.go
// against a real `drillctl serve`, a real worker and Temporal server, and
// the lab: sign in by link, start the demo playbook, acknowledge the page
// and approve the gate from the drill's page, watch the drill complete,
// open its evidence (verified) and the register, skip a date and pause a
// schedule; then the same pages on a phone, in Arabic, and by keyboard. Screenshots go to $ARTIFACTS.
//
// Playwright's library (playwright-core) drives Debian's Chromium: no
// browser is downloaded.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const { CONSOLE_URL, SIGNIN_LINK, CHROMIUM, ARTIFACTS, PLAYBOOK, SCHEDULE } = process.env;
for (const [k, v] of Object.entries({ CONSOLE_URL, SIGNIN_LINK, CHROMIUM, ARTIFACTS, PLAYBOOK, SCHEDULE })) {
  if (!v) { console.error(`console.test.mjs: ${k} is not set`); process.exit(2); }
}
mkdirSync(ARTIFACTS, { recursive: true });

const problems = [];
function check(ok, what) {
  if (!ok) { problems.push(what); console.log(`FAIL ${what}`); } else { console.log(`ok   ${what}`); }
}
async function shot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot ${path}`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let drillId = '';
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'Asia/Hong_Kong' });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  // A CSP violation or a script error shows as a console error: none allowed.
  page.on('console', (m) => { if (m.type() === 'error') { problems.push(`browser console: ${m.text()}`); console.log(`browser error: ${m.text()}`); } });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  // Sign in by link: the GET shows a button, the POST signs in.
  await page.goto(SIGNIN_LINK);
  await page.getByRole('button', { name: 'Sign in as alice' }).click();
  await page.waitForURL(/\/drills$/);
  check(await page.getByText('Signed in as alice').isVisible(), 'signed in as alice by a one-time link');

  // Start the demo playbook: alice is one of its contacts (it names no starters).
  await page.getByRole('button', { name: `Start a drill of ${PLAYBOOK}` }).click();
  await page.waitForURL(/\/drills\/drill-/);
  drillId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  console.log(`DRILL_ID=${drillId}`);
  check(drillId.startsWith(`drill-${PLAYBOOK}-`), `started ${drillId}`);

  // The page arrives live: alice was paged; she acknowledges her page.
  const ack = page.getByRole('button', { name: 'Acknowledge as alice' });
  await ack.waitFor({ timeout: 60_000 });
  await shot(page, '1-drill-paged');
  await ack.click();
  await page.waitForURL(new RegExp(`/drills/${drillId}$`));

  // The gate opens live; alice gives the go with a comment.
  const go = page.getByRole('button', { name: 'Go', exact: true });
  await go.waitFor({ timeout: 60_000 });
  await page.getByLabel('Comment (kept in the record)').fill('change window open (browser test)');
  await shot(page, '2-drill-gate');
  await go.click();
  await page.waitForURL(new RegExp(`/drills/${drillId}$`));

  // Watch it complete: the live fragment turns to completed and met.
  await page.locator('#live .facts .badge', { hasText: 'met' }).waitFor({ timeout: 120_000 });
  const facts = await page.locator('#live .facts').innerText();
  check(/completed/.test(facts), 'the drill completed');
  check(await page.locator('#live table', { hasText: 'alice' }).count() > 0, 'the decisions table names alice');
  check(/via console/.test(await page.locator('#live').innerText()), 'decisions are recorded as made via the console');
  check((await page.locator('time[data-local]').count()) > 0, 'instants shown in the viewer\'s zone');
  await shot(page, '3-drill-completed');

  // Its evidence: verified, the report inline, the downloads.
  await page.getByRole('link', { name: 'Open its evidence' }).click({ timeout: 60_000 });
  await page.waitForURL(new RegExp(`/evidence/${drillId}$`));
  check((await page.locator('#integrity').innerText()).trim() === 'verified', 'the bundle is verified');
  const report = page.frameLocator('iframe.report');
  await report.locator('body').waitFor();
  check((await report.locator('body').innerText()).includes(drillId), 'the report is shown inline');
  const archive = await page.request.get(`${CONSOLE_URL}/evidence/${drillId}/bundle.tar.gz`);
  check(archive.ok() && (await archive.body()).length > 1000, 'the bundle downloads as .tar.gz');
  await shot(page, '4-evidence');

  // The register: the playbook's last drill and last passing drill.
  await page.getByRole('link', { name: 'Register' }).click();
  const row = page.locator('#register tr', { hasText: PLAYBOOK });
  await row.waitFor();
  check(await row.locator(`a[href="/drills/${drillId}"]`).count() >= 1, 'the register names the drill');
  await shot(page, '5-register');

  // Schedules: the next drills in the viewer's zone; skip a date, pause, unpause.
  await page.getByRole('link', { name: 'Schedules' }).click();
  const card = page.locator('section.schedule', { hasText: SCHEDULE });
  await card.waitFor();
  check(/HKT|GMT\+8/.test(await card.locator('ul.next').innerText()), 'the next drills are shown in the viewer\'s time zone (Hong Kong)');
  const skip = new Date(Date.now() + 40 * 86400e3).toISOString().slice(0, 10);
  console.log(`SKIPPED=${skip}`);
  await card.getByLabel('Skip a date').fill(skip);
  await card.getByRole('button', { name: 'Add', exact: true }).click();
  await page.waitForURL(/\/schedules$/);
  check((await card.locator('ul.skips').innerText()).includes(skip), `${skip} is skipped`);
  await card.getByLabel('Note (why)').fill('change freeze');
  await card.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.waitForURL(/\/schedules$/);
  check(await card.locator('h2 .badge', { hasText: 'paused' }).isVisible(), 'the schedule is paused');
  check((await card.innerText()).includes('paused by alice (console): change freeze'), 'the pause says who and why');
  await shot(page, '6-schedules-paused');
  await card.getByRole('button', { name: 'Unpause', exact: true }).click();
  await page.waitForURL(/\/schedules$/);
  check(await card.locator('h2 .badge').count() === 0, 'the schedule is running again');

  // Keyboard: the first Tab lands on the skip link, which moves focus to the content.
  await page.goto(`${CONSOLE_URL}/drills`);
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.classList.contains('skip')), 'the first Tab reaches the skip link');
  await page.keyboard.press('Enter');
  check(await page.evaluate(() => document.activeElement.id === 'main'), 'the skip link moves focus to the content');

  // A phone: no sideways scrolling; the drill list becomes cards.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [path, name] of [[`/drills/${drillId}`, '7-phone-drill'], ['/drills', '8-phone-drills']]) {
    await page.goto(CONSOLE_URL + path);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `${path} fits a 390 px phone (overflow ${overflow}px)`);
    await shot(page, name);
  }

  // Arabic: right to left, in its own words.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${CONSOLE_URL}/drills/${drillId}?lang=ar`);
  check(await page.evaluate(() => document.documentElement.dir) === 'rtl', 'Arabic pages are right to left');
  check(await page.getByRole('link', { name: 'التمارين' }).isVisible(), 'the navigation speaks Arabic');
  await shot(page, '9-arabic-drill');
  await page.goto(`${CONSOLE_URL}/drills?lang=en`);
} catch (e) {
  problems.push(`${e.name}: ${e.message}`);
  console.log(e.stack);
} finally {
  await browser.close();
}
if (problems.length) {
  console.log(`${problems.length} problem(s):\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log('console browser test: every check passed');
