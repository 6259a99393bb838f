// End-to-end journeys through the console in a real browser (Debian's Chromium, driven by
// playwright-core), with axe-core run on every page (WCAG 2.2 A and AA rules, no violations
// allowed) and a screenshot of each page into docs/console/. Run by scripts/console-e2e.sh,
// which starts the service and passes the base URL and keys in the environment.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { strict as assert } from 'node:assert';

const base = process.env.MASH_BASE_URL;
const keys = {
  manager: process.env.MASH_MANAGER_KEY,
  agency: process.env.MASH_AGENCY_KEY,
  auditor: process.env.MASH_AUDITOR_KEY,
};
const shots = process.env.MASH_SCREENSHOTS || 'docs/console';
const axeSource = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let failures = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  // A script error on any page (GOV.UK Frontend's, the live board's) fails the run.
  page.on('pageerror', (err) => { failures += 1; console.error(`script error: ${err.message}`); });

  /** Every page: no axe violations, and its screenshot. */
  async function check(name) {
    await page.addScriptTag({ content: axeSource });
    const result = await page.evaluate(() =>
      window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } }),
    );
    for (const v of result.violations) {
      failures += 1;
      console.error(`axe on ${name}: ${v.id} (${v.impact}): ${v.help}; ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    }
    await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
    console.log(`ok ${name}: ${result.passes.length} axe rules pass, ${result.violations.length} violations`);
  }

  async function heading(text) {
    await page.getByRole('heading', { level: 1, name: text }).waitFor({ timeout: 5000 });
  }

  // Signed out, the console sends you to sign in; the styles are the embedded GOV.UK Frontend.
  await page.goto(`${base}/console`);
  await heading('Sign in');
  const font = await page.evaluate(() => getComputedStyle(document.querySelector("h1")).fontFamily);
  assert.match(font, /GDS Transport/, 'GOV.UK Frontend styles are served');
  await check('sign-in');

  // An agency's key is refused with the GOV.UK error summary, which takes the focus.
  await page.getByLabel('Staff key').fill(keys.agency);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.title(), /^Error: /, 'the title says there is an error');
  await page.getByRole('link', { name: /agency/ }).waitFor();
  await check('sign-in-error');

  // By keyboard alone: type the key, Enter.
  await page.getByLabel('Staff key').fill(keys.manager);
  await page.keyboard.press('Enter');
  await heading('Board');
  await page.getByRole('table', { name: 'Queues' }).waitFor();
  await page.getByRole('rowheader', { name: 'screening' }).waitFor();
  await check('board');
  // The live board's refresh answers with the table alone.
  const refreshed = await page.evaluate(() =>
    fetch('/console/board/queues', { headers: { 'X-Console-Refresh': '1' } }).then((r) => r.text()));
  assert.match(refreshed, /<table class="govuk-table">/);
  assert.doesNotMatch(refreshed, /<html/);

  // The queue: urgency as text, time left in working time; "Take next" claims it.
  await page.getByRole('link', { name: 'screening' }).click();
  await heading('Queue: screening');
  const row = page.getByRole('row').filter({ hasText: 'amber' });
  await row.waitFor();
  assert.match(await row.innerText(), /(working time left, due|Past its deadline)/);
  await check('queue');
  // By keyboard: Take next, then a note.
  await page.getByRole('button', { name: 'Take next contact' }).focus();
  await page.keyboard.press('Enter');

  // The contact: why it was rated, what the agency sent; a note; a decision refused, then made.
  await heading('Contact E2E-1');
  await page.getByRole('heading', { name: 'Why it is amber' }).waitFor();
  await check('contact');
  await page.getByLabel('Add a note').focus();
  await page.keyboard.type('Rang the school: the class teacher confirms what she saw.');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.getByText('Your note was added.').waitFor();

  // A manager's re-rating and assignment, through the forms.
  await page.getByLabel('New urgency').selectOption('red');
  await page.getByLabel('Why', { exact: true }).first().fill('The school nurse reports a disclosure.');
  await page.getByRole('button', { name: 'Re-rate' }).click();
  await page.getByText('The contact was re-rated.').waitFor();
  await page.getByRole('heading', { name: 'Why it is red' }).waitFor();
  await page.getByLabel('Assign to').selectOption({ index: 1 });
  await page.locator('#assign-reason').fill('Knows the family.');
  await page.getByRole('button', { name: 'Assign' }).click();
  await page.getByText('The contact was assigned.').waitFor();
  await check('contact-managed');

  // Someone else changes the contact while the decision is being written: a 412 page that keeps
  // what was typed and shows the current contact.
  await page.getByLabel('Rationale (staff only)').fill('Written before the change.');
  const id = page.url().split('/contacts/')[1].split('?')[0];
  const changed = await fetch(`${base}/v1/contacts/${id}/rerate`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${keys.manager}`, 'Content-Type': 'application/json', 'If-Match': '*' },
    body: JSON.stringify({ urgency: 'amber', reason: 'Nurse clarified: no disclosure.' }),
  });
  assert.equal(changed.status, 200);
  await page.getByLabel('Outcome').selectOption('early_help');
  await page.getByLabel('Threshold level').selectOption('early_help');
  await page.getByLabel('Feedback for the referrer').fill('Early help will contact the family.');
  const [conflict] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/decision')),
    page.getByRole('button', { name: 'Record decision' }).click(),
  ]);
  assert.equal(conflict.status(), 412);
  await page.getByText(/Someone else changed this contact/).waitFor();
  assert.equal(await page.getByLabel('Rationale (staff only)').inputValue(), 'Written before the change.');
  await check('contact-conflict');
  await page.getByLabel('Rationale (staff only)').fill('Single incident; family engaging with school.');
  await page.getByLabel('Outcome').selectOption('');
  await page.getByRole('button', { name: 'Record decision' }).click();
  await page.getByRole('alert').getByRole('link', { name: /Choose an outcome/ }).waitFor();
  assert.equal(await page.getByLabel('Rationale (staff only)').inputValue(), 'Single incident; family engaging with school.');
  await check('contact-error');
  await page.getByLabel('Outcome').selectOption('early_help');
  await page.getByLabel('Threshold level').selectOption('early_help');
  await page.getByRole('button', { name: 'Record decision' }).click();
  await page.getByText('The decision was recorded.').waitFor();
  await check('contact-decided');
  await page.getByRole('link', { name: /Back to the screening queue/ }).click();
  await heading('Queue: screening');
  await page.getByRole('link', { name: 'Board', exact: true }).click();
  await heading('Board');

  // Sign out by keyboard: Tab to the button, Enter.
  const signOut = page.getByRole('button', { name: 'Sign out' });
  for (let i = 0; i < 20 && !(await signOut.evaluate((el) => el === document.activeElement)); i += 1) {
    await page.keyboard.press('Tab');
  }
  await page.keyboard.press('Enter');
  await heading('Sign in');
  await page.goto(`${base}/console`);
  await heading('Sign in');

  // The auditor searches the trail, read-only.
  await page.getByLabel('Staff key').fill(keys.auditor);
  await page.keyboard.press('Enter');
  await heading('Board');
  await page.getByRole('link', { name: 'Audit trail' }).click();
  await heading('Audit trail');
  await page.getByLabel('Action').fill('decision.sent_back');
  await page.getByLabel('From').fill('yesterday');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('alert').getByRole('link', { name: /Enter a date/ }).waitFor();
  await check('audit-error');
  await page.getByLabel('From').fill('');
  await page.getByLabel('Action').fill('contact.submitted');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('table', { name: 'Events, oldest first' }).getByText('contact.submitted').waitFor();
  await check('audit');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await heading('Sign in');
} catch (err) {
  failures += 1;
  console.error(err);
} finally {
  await browser.close();
}
if (failures) {
  console.error(`${failures} failure(s)`);
  process.exit(1);
}
console.log('console journeys: all passed');
