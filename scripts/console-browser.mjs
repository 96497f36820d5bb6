// Drives the key console in headless Chromium against the real gateway
// binary: node scripts/console-browser.mjs PAYSEAL_BIN PLUGIN_WASM SCREENSHOT_DIR
// (scripts/test-console.sh builds both). Each step is one test; the last
// line is `payseal-summary: console N passed, M failed`.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [binary, wasm, shots] = process.argv.slice(2).map((p) => resolve(p));
const dir = mkdtempSync(join(tmpdir(), 'payseal-console-'));
const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const ADMIN = `psa_${randomBytes(32).toString('base64url')}`;
const SHOP01 = `psa_${randomBytes(32).toString('base64url')}`;
const STORE_KEY = randomBytes(32).toString('hex');
const ALLOWED = '203.0.113.7';
const OTHER = '198.51.100.9';
const PATH = '/external/v1/payments';

let passed = 0;
let failed = 0;
const FILE_CLIENT_SECRET = `cs_${randomBytes(32).toString('base64url')}`;
const secrets = [ADMIN, SHOP01, FILE_CLIENT_SECRET];

async function step(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${String(error && error.stack ? error.stack : error).split('\n').join('\n  ')}`);
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// An upstream that answers 200 to everything.
const upstream = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ ok: true, path: request.url }));
  });
});
await new Promise((done) => upstream.listen(0, '127.0.0.1', done));

const config = `[server]
listen = "127.0.0.1:0"
trusted_proxies = ["127.0.0.1"]

[admin]
listen = "127.0.0.1:0"
[[admin.tokens]]
name = "console-admin"
role = "admin"
sha256 = "${sha256(ADMIN)}"
[[admin.tokens]]
name = "shop01"
role = "merchant:SHOP01"
sha256 = "${sha256(SHOP01)}"

[upstream]
url = "http://127.0.0.1:${upstream.address().port}"

[store]
path = "${join(dir, 'store.redb')}"

[plugin]
wasm = "${wasm}"
instances = 1

[log]
format = "json"

[keys.policy]
accepted_formats = ["prefixed"]

[lifecycle]
store_key_env = "PAYSEAL_CONSOLE_STORE_KEY"

[tokens]
[[tokens.clients]]
id = "file-client"
secret_sha256 = "${sha256(FILE_CLIENT_SECRET)}"
key_ids = ["key_file"]
[[tokens.routes]]
prefix = "/external/v1/tokened"
`;
writeFileSync(join(dir, 'payseal.toml'), config);

const gateway = spawn(binary, ['serve', '--config', join(dir, 'payseal.toml')], {
  env: { ...process.env, PAYSEAL_CONSOLE_STORE_KEY: STORE_KEY },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let log = '';
gateway.stderr.on('data', (chunk) => {
  log += chunk;
});
const first = await Promise.race([
  new Promise((done) => createInterface({ input: gateway.stdout }).once('line', done)),
  new Promise((_, fail) => setTimeout(() => fail(new Error(`the gateway did not start:\n${log}`)), 180_000)),
  new Promise((_, fail) => gateway.once('exit', (code) => fail(new Error(`the gateway exited (${code}):\n${log}`)))),
]);
const [proxy, admin] = [...first.matchAll(/http:\/\/([0-9.:]+)/g)].map((m) => `http://${m[1]}`);
const console_ = `${admin}/ui/`;

async function through(key, address) {
  const response = await fetch(`${proxy}${PATH}`, { headers: { 'x-api-key': key, 'x-forwarded-for': address } });
  await response.arrayBuffer();
  return response.status;
}

const profile = mkdtempSync(join(tmpdir(), 'payseal-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1366, height: 800 },
    acceptDownloads: true,
  });
} catch (error) {
  console.log(`not ok - launch Chromium\n  ${error.message}`);
  console.log('payseal-summary: console 0 passed, 1 failed');
  gateway.kill('SIGKILL');
  upstream.close();
  process.exit(1);
}
const page = context.pages()[0] || (await context.newPage());
const external = [];
page.on('request', (request) => {
  if (!request.url().startsWith(admin)) external.push(request.url());
});
const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
const rowOf = (id) => page.locator(`tr[data-key-id="${id}"]`);

async function signIn(token, who) {
  await page.goto(console_);
  await page.fill('#token', token);
  await page.click('#sign-in button[type=submit]');
  await page.waitForFunction((text) => document.getElementById('who').textContent === text, who);
}

async function readOnce() {
  await page.waitForSelector('#secret-dialog[open] .secret-value');
  const values = await page.locator('.secret-value').allTextContents();
  secrets.push(...values);
  return values;
}

async function closeOnce(values) {
  await page.click('#secret-close');
  await page.waitForSelector('#secret-dialog', { state: 'hidden' });
  const html = await page.content();
  for (const value of values) check(!html.includes(value), 'a secret stayed in the DOM after the one-time display closed');
}

let key;
let keyId;
let successor;

await step('the console is served with a strict policy and no framing', async () => {
  const response = await fetch(console_);
  const csp = response.headers.get('content-security-policy') || '';
  check(response.status === 200, `GET /ui/ answered ${response.status}`);
  check(csp.startsWith("default-src 'self'") && !csp.includes('unsafe-inline'), `CSP: ${csp}`);
  check(response.headers.get('x-frame-options') === 'DENY', 'no X-Frame-Options: DENY');
});

await step('sign in (a wrong token is refused)', async () => {
  await page.goto(console_);
  await shot('sign-in');
  await page.fill('#token', 'psa_not-a-valid-token-at-all-0000000000000');
  await page.click('#sign-in button[type=submit]');
  await page.waitForFunction(() => document.getElementById('sign-in-error').textContent.length > 0);
  await signIn(ADMIN, 'console-admin (admin)');
  check(await page.locator('body[data-env="live"]').count() === 1, 'live is not the first view');
  check(!(await page.content()).includes(ADMIN), 'the token is in the DOM');
});

await step('create a key and read it once', async () => {
  await page.click('#create-key');
  await page.fill('#create-scopes', '');
  await page.fill('#create-webcode', 'SHOP02');
  await page.click('#create-form button[type=submit]');
  const values = await readOnce();
  key = values[0];
  check(key.startsWith('sk_live_'), `not a live key: ${key}`);
  check(values.length === 2, 'the first live key also shows the client secret once');
  check(await page.locator('#secret-dialog').getByText('you will not see this again').count() === 1, 'no warning');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[aria-label="Download API key"]')]);
  check(readFileSync(await download.path(), 'utf8') === `${key}\n`, 'the downloaded file is not the key');
  await shot('one-time-display');
  await closeOnce(values);
  keyId = await page.locator('#keys tbody tr').first().getAttribute('data-key-id');
  check(keyId && keyId.startsWith('key_'), `no key row: ${keyId}`);
  await shot('keys-live');
});

await step('use the key through the gateway (200)', async () => {
  check((await through(key, OTHER)) === 200, 'the new key is not accepted');
});

await step('edit its IPs, and the gateway refuses another address', async () => {
  await rowOf(keyId).getByRole('button', { name: `Edit ${keyId}` }).click();
  await page.fill('#edit-ips', ALLOWED);
  await shot('edit');
  await page.click('#edit-form button[type=submit]');
  await page.waitForFunction(([id, ip]) => document.querySelector(`tr[data-key-id="${id}"]`)?.textContent.includes(ip), [keyId, ALLOWED]);
  check((await through(key, OTHER)) === 403, 'another address is not refused');
  check((await through(key, ALLOWED)) === 200, 'the allowed address is refused');
});

await step('regenerate, and both keys work during the grace', async () => {
  await rowOf(keyId).getByRole('button', { name: `Regenerate ${keyId}` }).click();
  await page.fill('#regenerate-grace', '600');
  await page.click('#regenerate-form button[type=submit]');
  const values = await readOnce();
  successor = values[0];
  await closeOnce(values);
  check((await through(key, ALLOWED)) === 200, 'the old key stopped during its grace');
  check((await through(successor, ALLOWED)) === 200, 'the new key is not accepted');
  await page.waitForSelector(`#keys tbody tr:nth-child(2)`);
});

await step('revoke with a confirmation, and the gateway answers 401', async () => {
  const ids = await page.locator('#keys tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.keyId));
  const newId = ids.find((id) => id !== keyId);
  check(ids.length === 2 && newId, `rows: ${ids}`);
  await rowOf(newId).getByRole('button', { name: `Revoke ${newId}` }).click();
  await page.waitForSelector('#confirm-dialog[open]');
  await shot('revoke-confirm');
  await page.click('#confirm-yes');
  await page.waitForFunction((id) => document.querySelector(`tr[data-key-id="${id}"]`)?.textContent.includes('REVOKED'), newId);
  check((await through(successor, ALLOWED)) === 401, 'the revoked key is not refused with 401');
  await shot('keys-live-lifecycle');
});

await step('rotate the client secret with a confirmation, shown once', async () => {
  await page.click('#rotate-secret');
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-yes');
  const values = await readOnce();
  check(values.length === 1 && values[0].length >= 40, 'no client secret shown');
  await closeOnce(values);
});

await step('the test environment is visibly distinct', async () => {
  await page.click('#tab-test');
  await page.waitForSelector('body[data-env="test"]');
  const banner = await page.locator('#env-banner').textContent();
  check(banner.includes('TEST') && (await page.locator('#keys tbody tr').count()) === 0, `test view: ${banner}`);
  await shot('keys-test');
  await page.click('#tab-live');
});

await step('the audit view shows each step with its actor', async () => {
  await page.click('#tab-audit');
  await page.waitForSelector('#audit tbody tr');
  const text = await page.locator('#audit tbody').textContent();
  for (const action of ['key_created', 'client_secret_created', 'key_edited', 'key_regenerated', 'key_revoked', 'client_secret_rotated']) {
    check(text.includes(action), `no ${action} in the audit view`);
  }
  const actors = await page.locator('#audit tbody tr td:nth-child(3)').allTextContents();
  check(actors.length >= 5 && actors.every((a) => a === 'token:console-admin'), `actors: ${actors}`);
  await shot('audit');
  await page.fill('#audit-filter', 'revoked');
  await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr').length === 1);
  await shot('audit-filtered');
});

await step('the traffic chart shows the requests sent with the key', async () => {
  // Admitted, then refused after the key was known: no access token on a route that needs one.
  const refused = await fetch(`${proxy}/external/v1/tokened`, { headers: { 'x-api-key': key, 'x-forwarded-for': ALLOWED } });
  check(refused.status === 401, `the token route answered ${refused.status}`);
  await page.click('#tab-live');
  await rowOf(keyId).waitFor();
  await rowOf(keyId).getByRole('button', { name: `Traffic of ${keyId}` }).click();
  await page.waitForFunction(() => document.getElementById('traffic-summary').textContent.includes('admitted'));
  const bars = await page.locator('#traffic-chart svg g[data-admitted]').evaluateAll((gs) => gs.map((g) => Number(g.dataset.admitted)));
  const admitted = bars.reduce((a, b) => a + b, 0);
  check(bars.length === 60 && admitted >= 3, `bars: ${bars.length}, admitted: ${admitted}`);
  check((await page.locator('#traffic-chart rect.bar-admitted').count()) >= 1, 'no bar drawn');
  check((await page.locator('#traffic-chart rect.bar-refused').count()) === 1, 'no refusal drawn');
  const reasons = await page.locator('#traffic-reasons tbody tr').allTextContents();
  check(reasons.length === 1 && /1$/.test(reasons[0]) && !reasons[0].startsWith('none'), `reasons: ${reasons}`);
  check((await page.locator('#traffic-summary').textContent()).startsWith(`${admitted} requests admitted`), 'the summary differs from the chart');
  await shot('traffic');
  await page.locator('#traffic-dialog .cancel').click();
  await page.waitForSelector('#traffic-dialog', { state: 'hidden' });
});

await step('create a token client, read its secret once, and get a token with it', async () => {
  await page.click('#tab-clients');
  await page.waitForSelector('#clients tbody tr[data-client="file-client"]');
  check(!(await page.content()).includes(FILE_CLIENT_SECRET), 'the file client\'s secret is in the DOM');
  await page.click('#create-client');
  await page.fill('#client-id', 'console-app');
  await page.locator(`#client-key-list input[value="${keyId}"]`).check();
  await shot('token-client-create');
  await page.click('#client-form button[type=submit]');
  const values = await readOnce();
  check(values.length === 1 && values[0].startsWith('cs_'), 'no client secret shown');
  await closeOnce(values);
  await page.waitForSelector('#clients tbody tr[data-client="console-app"]');
  const response = await fetch(`${proxy}/api/v1/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'console-app', client_secret: values[0] }),
  });
  const issued = await response.json();
  check(response.status === 200 && issued.access_token, `the token endpoint answered ${response.status}`);
  secrets.push(issued.access_token, issued.refresh_token);
  await shot('token-clients');
});

await step('create a renewal account, read its password once, renew with it, delete it', async () => {
  await page.click('#tab-accounts');
  await page.waitForSelector('#accounts-view:not([hidden])');
  await page.click('#create-account');
  await page.fill('#account-code-url', 'console-renew');
  await page.fill('#account-code', 'ACC-CONSOLE');
  await page.selectOption('#account-environment', 'test');
  await page.fill('#account-webcode', 'SHOP02');
  await page.click('#account-form button[type=submit]');
  const values = await readOnce();
  check(values.length === 1 && values[0].startsWith('rp_'), 'no password shown');
  await closeOnce(values);
  await page.waitForSelector('#accounts tbody tr[data-account="console-renew"][data-env="test"] .env-test');
  const renew = async () => {
    const body = new URLSearchParams({ accountOperationCode: 'ACC-CONSOLE', password: values[0] });
    const response = await fetch(`${proxy}/console-renew/renew-secret`, { method: 'POST', body });
    const answer = await response.json();
    if (answer.secret) secrets.push(answer.secret);
    return response.status;
  };
  check((await renew()) === 200, 'the new account cannot renew');
  await shot('renewal-accounts');
  await page.getByRole('button', { name: 'Delete renewal account console-renew' }).click();
  await page.click('#confirm-yes');
  await page.waitForSelector('#accounts tbody tr[data-account="console-renew"]', { state: 'detached' });
  // 400 while other accounts exist; with none left the path is an ordinary
  // proxied one, refused for its missing API key.
  const after = await renew();
  check(after === 400 || after === 401, `the deleted account renews (${after})`);
  await page.click('#tab-audit');
  await page.fill('#audit-filter', 'account');
  await page.waitForFunction(() => document.querySelectorAll('#audit tbody tr').length >= 2);
  const text = await page.locator('#audit tbody').textContent();
  check(text.includes('renewal_account_created') && text.includes('renewal_account_deleted') && text.includes('token:console-admin'), `audit: ${text}`);
  await page.fill('#audit-filter', 'client');
  await page.waitForFunction(() => document.getElementById('audit').textContent.includes('token_client_created'));
  await page.fill('#audit-filter', '');
});

await step('no secret in the DOM, storage or cookies after the one-time displays closed', async () => {
  const html = await page.content();
  for (const secret of secrets) check(!html.includes(secret), 'a secret is in the DOM');
  const storage = await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]);
  check(storage[0] === 0 && storage[1] === 0 && storage[2] === '', `storage: ${storage}`);
  check((await context.cookies()).length === 0, 'a cookie was set');
});

await step('create an admin token (shown once, works at once) and revoke it (401 at once)', async () => {
  await page.click('#tab-tokens');
  await page.waitForSelector('#tokens tbody tr[data-token="console-admin"]');
  await page.click('#create-token');
  await page.fill('#token-name', 'console-viewer');
  await page.fill('#token-role', 'viewer');
  await page.click('#token-form button[type=submit]');
  const values = await readOnce();
  await closeOnce(values);
  const session = async () => (await fetch(`${admin}/session`, { headers: { authorization: `Bearer ${values[0]}` } })).status;
  check((await session()) === 200, 'the new token is refused');
  await page.waitForSelector('#tokens tbody tr[data-token="console-viewer"]');
  await shot('tokens');
  await page.getByRole('button', { name: 'Revoke token console-viewer' }).click();
  await page.click('#confirm-yes');
  await page.waitForSelector('#tokens tbody tr[data-token="console-viewer"]', { state: 'detached' });
  check((await session()) === 401, 'the revoked token still works');
});

await step('a merchant token sees only its own keys', async () => {
  await page.click('#sign-out');
  await signIn(SHOP01, 'shop01 (merchant:SHOP01)');
  check(await page.locator('#rotate-secret').isHidden(), 'a merchant is offered the client secret rotation');
  check((await page.locator('#keys tbody tr').count()) === 0, 'the merchant sees another webcode\'s keys');
  await page.click('#create-key');
  check((await page.inputValue('#create-webcode')) === 'SHOP01', 'the webcode is not the merchant\'s');
  await page.click('#create-form button[type=submit]');
  const values = await readOnce();
  await closeOnce(values);
  await page.waitForSelector('#keys tbody tr');
  const webcodes = await page.locator('#keys tbody tr td:nth-child(3)').allTextContents();
  check(webcodes.length === 1 && webcodes[0] === 'SHOP01', `the merchant sees: ${webcodes}`);
  check((await rowOf(keyId).count()) === 0, 'SHOP02\'s key is listed');
  await shot('merchant');
  await page.click('#tab-clients');
  await page.waitForSelector('#no-clients:not([hidden])');
  check((await page.locator('#clients tbody tr').count()) === 0, 'the merchant sees clients of no or another webcode');
});

await step('no secret in the DOM, storage or cookies; no external request', async () => {
  const html = await page.content();
  for (const secret of secrets) check(!html.includes(secret), 'a secret or token is in the DOM');
  const storage = await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]);
  check(storage[0] === 0 && storage[1] === 0 && storage[2] === '', `storage: ${storage}`);
  check((await context.cookies()).length === 0, 'a cookie was set');
  check(external.length === 0, `requests elsewhere: ${external}`);
});

await context.close();
gateway.kill('SIGTERM');
upstream.close();
rmSync(profile, { recursive: true, force: true });
rmSync(dir, { recursive: true, force: true });
for (const secret of secrets) {
  if (log.includes(secret)) {
    failed += 1;
    console.log('not ok - the gateway log holds a key, secret or token');
    break;
  }
}
console.log(`payseal-summary: console ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
