// End-to-end tests of the web console in Debian's headless Chromium
// against a running tokenledger. run.sh starts the server and sets:
//   E2E_BASE_URL    e.g. http://127.0.0.1:41234
//   E2E_ADMIN_TOKEN the bootstrap admin secret (ledger:admin, so it may verify)
//   E2E_OUT         folder for the screenshots (one per test, its final page)
// The tests run in order and share one browser page and one token.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { launch } from './browser.mjs';

const BASE = requireEnv('E2E_BASE_URL');
const ADMIN = requireEnv('E2E_ADMIN_TOKEN');
const OUT = process.env.E2E_OUT || 'build/e2e';
const CONSOLE = `${BASE}/console/`;
const STEP_TIMEOUT = 60_000;

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests/e2e/run.sh`);
  return value;
}

// The API, called directly as another service would.
async function apiCall(method, path, body, secret = ADMIN) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function verify(secret, extra = {}) {
  const { status, body } = await apiCall('POST', '/v1/verify', { token: secret, ...extra });
  assert.equal(status, 200, `verify answered ${status}: ${JSON.stringify(body)}`);
  return body.code;
}

let browser;
let page;
const state = { tokenId: null, secret: null, oldSecret: null };
const strayRequests = [];
const pageErrors = [];     // uncaught exceptions and console errors (CSP violations among them)  // anything but /console/* and /v1/* on the server's origin

async function screenshot(name) {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

const byTestId = (id) => page.locator(`[data-testid="${id}"]`);

async function signIn(secret) {
  await page.goto(CONSOLE);
  await page.evaluate(() => sessionStorage.clear());
  await page.reload();
  await byTestId('signin-token').fill(secret);
  await byTestId('signin-token').press('Enter');
}

// Reads the secret dialog: the value, copied with the Copy button and read
// back from the clipboard. Closes the dialog and checks the secret is gone.
async function takeSecretFromDialog({ closeWith = 'button' } = {}) {
  const dialog = byTestId('secret-dialog');
  await dialog.waitFor({ state: 'visible' });
  await assert.doesNotReject(dialog.getByText('will not be shown again').waitFor());
  const shown = await byTestId('secret-value').inputValue();
  assert.match(shown, /^[a-z0-9]{1,8}_[A-Za-z0-9]{38,}$/, 'the secret looks like <prefix>_<base62>');

  await byTestId('secret-copy').click();
  await assert.doesNotReject(byTestId('secret-copy-status').getByText('Copied').waitFor());
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, shown, 'the clipboard holds the secret');

  if (closeWith === 'escape') await page.keyboard.press('Escape');
  else await byTestId('secret-close').click();
  await dialog.waitFor({ state: 'hidden' });
  // The dialog's close event (which empties it) follows the closing itself.
  await page.waitForFunction(() => document.getElementById('secret-value').value === '', null, { timeout: 5000 });
  assert.ok(!(await page.content()).includes(shown), 'the secret is no longer in the page');
  return copied;
}

// Visible form controls without an accessible name (label, aria-label(ledby)
// or, for buttons, their text).
function unlabelledControls() {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.offsetParent !== null || el.closest('dialog[open]'))
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
      || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML.slice(0, 120)));
}

async function historyItems(type) {
  return page.locator(`[data-testid="history-item"][data-type="${type}"]`);
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  browser = await launch({ viewport: { width: 1280, height: 800 } });
  page = browser.context.pages()[0] || (await browser.context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[0-9]/.test(message.text())) pageErrors.push(message.text());
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin !== new URL(BASE).origin || !/^\/(console(\/|$)|v1\/)/.test(url.pathname)) strayRequests.push(url.href);
  });
});

after(async () => {
  await browser?.close();
});

describe('web console', { timeout: 10 * STEP_TIMEOUT }, () => {
  test('signs in with a pasted management token', { timeout: STEP_TIMEOUT }, async () => {
    const response = await page.goto(`${BASE}/console`);
    assert.equal(new URL(page.url()).pathname, '/console/', '/console redirects to /console/');
    assert.equal(response.status(), 200);
    await byTestId('signin-token').waitFor();
    await signIn(ADMIN);
    await byTestId('token-table').waitFor();
    await byTestId('token-row').first().waitFor();
    const stored = await page.evaluate(() => Object.values(sessionStorage));
    assert.deepEqual(stored, [ADMIN], 'the token is kept in sessionStorage');
    assert.deepEqual(await page.evaluate(() => Object.keys(localStorage)), [], 'nothing in localStorage');
    await screenshot('01-signed-in');
  });

  test('creates a custom token with credits; the secret is shown once and copied; it verifies VALID',
    { timeout: STEP_TIMEOUT }, async () => {
      await byTestId('create-link').click();
      await byTestId('tf-name').fill('e2e reports reader');
      await byTestId('tf-description').fill('Created by the browser test');
      await byTestId('tf-duration').selectOption('90d');
      await byTestId('tf-type-custom').check();
      await byTestId('permission-resource').first().fill('reports/*');
      await byTestId('permission-action').first().fill('read');
      await byTestId('permission-add').click();
      await byTestId('permission-resource').nth(1).fill('datasets/sales');
      await byTestId('permission-action').nth(1).fill('read');
      await byTestId('tf-credits-limited').check();
      await byTestId('tf-credits').fill('100');
      await byTestId('tf-refill-interval').selectOption('month');
      await byTestId('tf-refill-amount').fill('100');
      await byTestId('tf-submit').click();

      state.secret = await takeSecretFromDialog();
      await page.waitForURL(/#\/tokens\/tok_/);
      state.tokenId = decodeURIComponent(page.url().split('#/tokens/')[1]);
      await assert.doesNotReject(byTestId('detail-title').getByText('e2e reports reader').waitFor());
      const fields = byTestId('detail-fields');
      assert.equal((await fields.locator('[data-field=credits]').textContent()).trim(), '100');
      assert.match(await fields.locator('[data-field=permissions]').textContent(), /reports\/\*:read.*datasets\/sales:read/s);

      assert.equal(await verify(state.secret, { permissions: ['reports/q3:read'] }), 'VALID');
      await screenshot('02-created');
    });

  test('shows an API field error next to its field', { timeout: STEP_TIMEOUT }, async () => {
    await page.goto(`${CONSOLE}#/tokens/new`);
    await byTestId('tf-name').fill('e2e bad addresses');
    await byTestId('tf-type-custom').check();
    await byTestId('tf-credits-limited').check();
    await byTestId('tf-rate-limited').check();
    await byTestId('tf-duration').selectOption('custom');
    assert.deepEqual(await unlabelledControls(), [], 'every control of the form is labelled');
    await byTestId('tf-type-read-only').check();
    await byTestId('tf-credits-limited').uncheck();
    await byTestId('tf-rate-limited').uncheck();
    await byTestId('tf-duration').selectOption('30d');
    await byTestId('tf-ips').fill('not-an-address');
    await byTestId('tf-submit').click();
    const error = page.locator('[data-field="allowed_ips"] [data-testid="field-error"]');
    await error.waitFor();
    assert.match(await error.textContent(), /^Entry 1: ./, 'the message names the wrong entry');
    assert.equal(await byTestId('tf-ips').getAttribute('aria-invalid'), 'true');
    await screenshot('03-field-error');
  });

  test('edits the permissions and sees the change in the history', { timeout: STEP_TIMEOUT }, async () => {
    await page.goto(`${CONSOLE}#/tokens/${state.tokenId}`);
    await byTestId('detail-edit').click();
    await byTestId('permission-add').click();
    await byTestId('permission-resource').nth(2).fill('reports/*');
    await byTestId('permission-action').nth(2).fill('write');
    await byTestId('tf-submit').click();
    await page.waitForURL((url) => url.hash === `#/tokens/${state.tokenId}`);

    const changed = await historyItems('token.permissions_changed');
    await changed.first().waitFor();
    assert.match(await changed.first().textContent(), /Added:\s*reports\/\*:write/);
    assert.equal(await verify(state.secret, { permissions: ['reports/q3:write'] }), 'VALID');
    assert.deepEqual(await unlabelledControls(), [], 'every control of the detail page is labelled');
    await screenshot('04-permissions-edited');
  });

  test('regenerates: the old secret is NOT_FOUND, the new one VALID', { timeout: STEP_TIMEOUT }, async () => {
    await byTestId('detail-regenerate').click();
    await byTestId('regenerate-dialog').waitFor({ state: 'visible' });
    await byTestId('regenerate-grace').selectOption('0');
    await byTestId('regenerate-confirm').click();
    state.oldSecret = state.secret;
    state.secret = await takeSecretFromDialog({ closeWith: 'escape' });
    assert.notEqual(state.secret, state.oldSecret);

    assert.equal(await verify(state.oldSecret), 'NOT_FOUND');
    assert.equal(await verify(state.secret), 'VALID');
    await (await historyItems('token.regenerated')).first().waitFor();
    await screenshot('05-regenerated');
  });

  test('revokes with a reason: REVOKED; the usage chart shows the verifications', { timeout: STEP_TIMEOUT }, async () => {
    await byTestId('detail-revoke').click();
    await byTestId('revoke-reason').fill('end of the e2e test');
    await byTestId('revoke-confirm').click();
    await byTestId('revoke-dialog').waitFor({ state: 'hidden' });
    await assert.doesNotReject(byTestId('detail-status').getByText('revoked').waitFor());
    assert.equal(await verify(state.secret), 'REVOKED');

    // Three VALID verifications and one REVOKED denial so far (the NOT_FOUND
    // of the old secret belongs to no token).
    await page.reload();
    await byTestId('usage-chart').waitFor();
    assert.equal(await byTestId('usage-total-uses').textContent(), '3');
    assert.match(await byTestId('usage-denied-codes').textContent(), /REVOKED\s*1/);
    const perSlot = await page.locator('[data-testid="usage-chart"] .slot').evaluateAll(
      (slots) => slots.reduce((sum, slot) => sum + Number(slot.dataset.uses), 0));
    assert.equal(perSlot, 3, 'the bars add up to the three uses');
    assert.equal((await byTestId('detail-fields').locator('[data-field=credits]').textContent()).trim(), '97');
    assert.match(await (await historyItems('token.revoked')).first().textContent(), /end of the e2e test/);
    await screenshot('06-revoked');
  });

  test('a 401 returns to the sign-in screen with a message', { timeout: STEP_TIMEOUT }, async () => {
    const created = await apiCall('POST', '/v1/tokens', { name: 'e2e console session', permissions: ['ledger:read'] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await signIn(created.body.token);
    await byTestId('token-row').first().waitFor();

    const revoked = await apiCall('POST', `/v1/tokens/${created.body.id}/revoke`, { reason: 'e2e: end the session' });
    assert.equal(revoked.status, 200);
    await page.locator('#list-status').selectOption('active');  // any API call now answers 401

    const message = byTestId('signin-message');
    await message.waitFor({ state: 'visible' });
    assert.match(await message.textContent(), /Sign in again/);
    assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), [], 'the token is forgotten');
    await screenshot('07-session-ended');
  });

  test('lists newest first, pages with the API cursor, filters by status and searches the page',
    { timeout: STEP_TIMEOUT }, async () => {
      for (let i = 1; i <= 20; i++) {
        const created = await apiCall('POST', '/v1/tokens', { name: `e2e page token ${i}`, preset: 'read-only' });
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }
      await signIn(ADMIN);
      const rows = byTestId('token-row');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 20, 'a page holds 20 tokens');
      assert.match(await rows.first().textContent(), /e2e page token 20/, 'newest first');
      assert.ok(await byTestId('list-next').isEnabled());

      await byTestId('list-next').click();
      await page.locator('#list-page').getByText('Page 2').waitFor();
      const secondPage = await rows.allTextContents();
      assert.ok(secondPage.some((text) => text.includes('bootstrap admin')), 'the oldest token is on page 2');
      assert.ok(!secondPage.some((text) => text.includes('e2e page token 20')));
      await byTestId('list-prev').click();
      await page.locator('#list-page').getByText('Page 1').waitFor();
      await rows.first().getByText('e2e page token 20').waitFor();

      await byTestId('list-status').selectOption('revoked');
      await page.waitForFunction(() => {
        const shown = [...document.querySelectorAll('[data-testid=token-row]')];
        return shown.length > 0 && shown.every((row) => row.textContent.includes('revoked'));
      });
      assert.equal(await rows.count(), 2, 'the two revoked tokens');
      await byTestId('list-search').fill('reports reader');
      assert.equal(await rows.count(), 1);
      assert.match(await rows.first().textContent(), /e2e reports reader/);
      await screenshot('08-list-filtered');
    });

  test('reads well 390 px wide', { timeout: STEP_TIMEOUT }, async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(ADMIN);
    await byTestId('token-row').first().waitFor();
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(await overflow() <= 0, 'the list does not scroll sideways');
    await screenshot('09-narrow-list');

    await page.goto(`${CONSOLE}#/tokens/${state.tokenId}`);
    await byTestId('usage-chart').waitFor();
    assert.ok(await overflow() <= 0, 'the detail page does not scroll sideways');
    const chartWidth = await byTestId('usage-chart').evaluate((svg) => svg.getBoundingClientRect().width);
    assert.ok(chartWidth <= 390, `the chart fits (${chartWidth}px)`);
    await screenshot('09-narrow-detail');
  });

  test('loads nothing but its own files and the /v1 API, without script errors', () => {
    assert.deepEqual(strayRequests, []);
    assert.deepEqual(pageErrors, []);
  });
});
