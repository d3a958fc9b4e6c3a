// Browser end-to-end tests of the eIRC web client (run by run.sh, which
// starts the whole stack with the README's command and exports EIRC_URL and
// two users' credentials). Headless Debian Chromium through playwright-core.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';

const URL_ = process.env.EIRC_URL;
const IRC_PORT = Number(process.env.EIRC_IRC_PORT || 16667);
const USERS = [
	{ name: process.env.EIRC_USER1, pass: process.env.EIRC_PASS1 },
	{ name: process.env.EIRC_USER2, pass: process.env.EIRC_PASS2 },
];
const ART = process.env.EIRC_BROWSER_ARTIFACTS || '.';
const ROOM = '#general';
const WAIT = 20_000;
const run = `${Date.now() % 100000}`; // keeps this run's messages apart from older ones

let browser;
const pages = [];

async function login(page, user) {
	await page.goto(URL_);
	await page.locator('#username').waitFor({ timeout: WAIT });
	// keyboard only: type, Tab to the password, Enter submits
	await page.locator('#username').focus();
	await page.keyboard.type(user.name);
	await page.keyboard.press('Tab');
	await page.keyboard.type(user.pass);
	await page.keyboard.press('Enter');
	await page.locator('#title', { hasText: ROOM }).waitFor({ timeout: WAIT });
	await page.locator('#status', { hasText: 'Connected' }).waitFor({ timeout: WAIT });
}

async function send(page, text) {
	const input = page.locator('#input');
	await input.focus();
	await input.fill(text);
	await page.keyboard.press('Enter');
}

function logEntry(page, text) {
	return page.locator('#log .entry .text', { hasText: text });
}

// A plain IRC client straight to InspIRCd (its loopback class has no flood
// limit) says each of lines in #general, then quits.
// The stack refuses plain IRC clients (irc.native_clients: refuse), so the
// flood speaks as the gateway does: WEBIRC'd, for an account id nobody has.
function webircPassword() {
	const m = fs.readFileSync(process.env.EIRC_SECRETS_ENV, 'utf8').match(/^EIRC_WEBIRC_PASSWORD=(.*)$/m);
	assert.ok(m, 'EIRC_WEBIRC_PASSWORD in $EIRC_SECRETS_ENV');
	return m[1].trim();
}

function ircSay(nick, lines) {
	return new Promise((resolve, reject) => {
		const s = net.connect(IRC_PORT, '127.0.0.1');
		let buf = '';
		let sent = false;
		const timer = setTimeout(() => { s.destroy(); reject(new Error('IRC flood timed out')); }, WAIT);
		s.setEncoding('utf8');
		s.on('error', reject);
		s.on('connect', () => s.write(`WEBIRC ${webircPassword()} eirc 127.0.0.1 127.0.0.1\r\n`
			+ `NICK ${nick}\r\nUSER u999999 0 * :${nick}\r\n`));
		s.on('data', (d) => {
			buf += d;
			if (!sent && / 001 /.test(buf)) {
				sent = true;
				s.write(`JOIN ${ROOM}\r\n${lines.map((l) => `PRIVMSG ${ROOM} :${l}\r\n`).join('')}PING :done\r\n`);
			}
			if (sent && /PONG [^\r\n]*done/.test(buf)) {
				clearTimeout(timer);
				s.end('QUIT :bye\r\n');
				resolve();
			}
		});
	});
}

before(async () => {
	assert.ok(URL_, 'EIRC_URL is set (run through tests/browser/run.sh)');
	browser = await chromium.launch({
		executablePath: '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	for (let i = 0; i < 2; i++) {
		const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
		const page = await ctx.newPage();
		page.on('pageerror', (e) => console.log(`# page ${i} error: ${e.message}`));
		pages.push(page);
	}
});

after(async () => {
	await browser?.close();
});

test('the printed URL shows the login page', async () => {
	const page = pages[0];
	await page.goto(URL_);
	await page.locator('#login-form').waitFor({ timeout: WAIT });
	assert.equal(await page.locator('label[for=username]').textContent(), 'User name');
	await page.screenshot({ path: `${ART}/login.png` });
});

test('a wrong password is refused with a message', async () => {
	const page = pages[0];
	await page.locator('#username').fill(USERS[0].name);
	await page.locator('#password').fill('not the password');
	await page.locator('#login-submit').click();
	await page.locator('#login-error', { hasText: 'Wrong user name or password' }).waitFor({ timeout: WAIT });
});

test('two users sign in and land in #general', async () => {
	await login(pages[0], USERS[0]);
	await login(pages[1], USERS[1]);
	// each sees the other in the member list
	await pages[0].locator('#member-list .member', { hasText: USERS[1].name }).waitFor({ timeout: WAIT });
	await pages[1].locator('#member-list .member', { hasText: USERS[0].name }).waitFor({ timeout: WAIT });
});

test('messages go both ways, with nick and time', async () => {
	const [a, b] = pages;
	await send(a, `hello from ${USERS[0].name} ${run}`);
	await logEntry(b, `hello from ${USERS[0].name} ${run}`).waitFor({ timeout: WAIT });
	await send(b, `hello back ${run}`);
	await logEntry(a, `hello back ${run}`).waitFor({ timeout: WAIT });
	const row = a.locator('#log .entry', { hasText: `hello back ${run}` });
	assert.equal(await row.locator('.nick').textContent(), USERS[1].name);
	assert.match(await row.locator('time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
	// own message: shown at once, then replaced by the server's echo (once)
	await a.locator('#log .entry.self:not(.pending)', { hasText: `hello from ${USERS[0].name} ${run}` }).waitFor({ timeout: WAIT });
	await a.waitForFunction(() => !document.querySelector('#log .entry.pending'), null, { timeout: WAIT });
	assert.equal(await logEntry(a, `hello from ${USERS[0].name} ${run}`).count(), 1);
	await a.screenshot({ path: `${ART}/main-desktop.png` });
});

test('markup in a message renders as text, links are safe', async () => {
	const [a, b] = pages;
	const evil = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> ${run}`;
	await send(a, evil);
	await logEntry(b, `window.__xss=2"> ${run}`).waitFor({ timeout: WAIT });
	assert.equal(await b.evaluate(() => window.__xss), undefined);
	assert.equal(await b.locator('#log img, #log script').count(), 0);
	assert.ok((await logEntry(b, `${run}`).last().textContent()).includes('<img src=x onerror='));
	await send(a, `see https://example.com/page?q=1. and javascript:alert(1) ${run}`);
	const link = b.locator('#log a', { hasText: 'https://example.com/page?q=1' });
	await link.waitFor({ timeout: WAIT });
	assert.equal(await link.getAttribute('href'), 'https://example.com/page?q=1');
	assert.match(await link.getAttribute('rel'), /noopener/);
	assert.equal(await b.locator('#log a[href^="javascript"]').count(), 0);
});

test('after a reload the earlier messages come back from history', async () => {
	const b = pages[1];
	await b.reload();
	await b.locator('#title', { hasText: ROOM }).waitFor({ timeout: WAIT });
	await logEntry(b, `hello from ${USERS[0].name} ${run}`).waitFor({ timeout: WAIT });
	await logEntry(b, `hello back ${run}`).waitFor({ timeout: WAIT });
});

test('a killed irc-client: the page reconnects and shows what was sent meanwhile', async () => {
	const [a, b] = pages;
	// the process of this user's session: eirc-irc-client ... --nick <user>
	execFileSync('pkill', ['-KILL', '-f', `eirc-irc-client .*--nick ${USERS[1].name}( |$)`]);
	for (let i = 1; i <= 3; i++) await send(a, `while you were away ${i} ${run}`);
	await b.locator('#banner').waitFor({ state: 'visible', timeout: WAIT }).catch(() => {});
	for (let i = 1; i <= 3; i++) await logEntry(b, `while you were away ${i} ${run}`).waitFor({ timeout: 2 * WAIT });
	await b.locator('#status', { hasText: 'Connected' }).waitFor({ timeout: WAIT });
	await b.locator('#log .entry-info', { hasText: 'Connection lost' }).waitFor({ timeout: WAIT });
	// and the session works again both ways
	await send(b, `back again ${run}`);
	await logEntry(a, `back again ${run}`).waitFor({ timeout: WAIT });
	await b.screenshot({ path: `${ART}/after-reconnect.png` });
});

test('direct messages between the two users', async () => {
	const [a, b] = pages;
	await a.locator('#dm-nick').fill(USERS[1].name);
	await a.keyboard.press('Enter');
	await a.locator('#title', { hasText: USERS[1].name }).waitFor({ timeout: WAIT });
	await send(a, `private hello ${run}`);
	await b.locator('#dm-list button', { hasText: USERS[0].name }).click({ timeout: WAIT });
	await logEntry(b, `private hello ${run}`).waitFor({ timeout: WAIT });
	await a.locator('#room-list button', { hasText: ROOM }).click();
	await a.locator('#title', { hasText: ROOM }).waitFor({ timeout: WAIT });
});

test('scrolling up loads older messages (CHATHISTORY BEFORE through the gateway)', async () => {
	const b = pages[1];
	const n = 70; // more than one page (50)
	await ircSay(`flood${run}`, Array.from({ length: n }, (_, i) => `older ${i + 1} of ${n} ${run}`));
	await b.locator('#room-list button', { hasText: ROOM }).click();
	await logEntry(b, `older ${n} of ${n} ${run}`).waitFor({ timeout: WAIT });
	await b.reload(); // only the latest page comes back
	await b.locator('#title', { hasText: ROOM }).waitFor({ timeout: WAIT });
	await logEntry(b, `older ${n} of ${n} ${run}`).waitFor({ timeout: WAIT });
	assert.equal(await logEntry(b, `older 1 of ${n} ${run}`).count(), 0);
	for (let i = 0; i < 20 && !(await logEntry(b, `older 1 of ${n} ${run}`).count()); i++) {
		await b.locator('#log').evaluate((el) => { el.scrollTop = 0; });
		await b.waitForTimeout(300);
	}
	await logEntry(b, `older 1 of ${n} ${run}`).waitFor({ timeout: WAIT });
	for (let i = 1; i <= n; i++)
		assert.equal(await logEntry(b, `older ${i} of ${n} ${run}`).count(), 1, `message ${i} once`);
	const texts = await b.locator('#log .entry .text').allTextContents();
	const order = texts.filter((t) => t.includes(` of ${n} ${run}`)).map((t) => Number(t.split(' ')[1]));
	assert.deepEqual(order, Array.from({ length: n }, (_, i) => i + 1));
});

test('keyboard: Alt+Down switches conversation, focus stays usable', async () => {
	const a = pages[0];
	await a.locator('#input').focus();
	await a.keyboard.press('Alt+ArrowDown');
	await a.waitForFunction((room) => document.getElementById('title').textContent !== room, ROOM, { timeout: WAIT });
	await a.keyboard.press('Alt+ArrowUp');
	await a.locator('#title', { hasText: ROOM }).waitFor({ timeout: WAIT });
	const focusVisible = await a.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
	assert.ok(focusVisible);
});

test('phone width: one column, panels open from buttons', async () => {
	const a = pages[0];
	await a.setViewportSize({ width: 390, height: 844 });
	assert.equal(await a.locator('#sidebar').isVisible(), false);
	assert.ok(await a.locator('#log').isVisible());
	assert.ok(await a.locator('#input').isVisible());
	await a.screenshot({ path: `${ART}/main-phone.png` });
	await a.locator('#menu-toggle').click();
	assert.ok(await a.locator('#sidebar').isVisible());
	assert.equal(await a.locator('#menu-toggle').getAttribute('aria-expanded'), 'true');
	await a.screenshot({ path: `${ART}/nav-phone.png` });
	await a.keyboard.press('Escape');
	assert.equal(await a.locator('#sidebar').isVisible(), false);
	// nothing wider than the screen
	const overflow = await a.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
	assert.ok(overflow <= 0, `page overflows by ${overflow}px`);
	await a.setViewportSize({ width: 1280, height: 800 });
});

test('embed mode shows one room only', async () => {
	const ctx = pages[1].context();
	const e = await ctx.newPage();
	await e.goto(`${URL_}?room=${encodeURIComponent(ROOM)}&embed=1`);
	// a new tab has its own session (sessionStorage): sign in inside the embed
	await e.locator('#username').fill(USERS[1].name);
	await e.locator('#password').fill(USERS[1].pass);
	await e.locator('#password').press('Enter');
	await e.locator('#title', { hasText: ROOM }).waitFor({ timeout: WAIT });
	await logEntry(e, `${run}`).last().waitFor({ timeout: WAIT });
	assert.equal(await e.locator('#sidebar').isVisible(), false);
	await e.screenshot({ path: `${ART}/embed.png` });
	await e.close();
});

// The same login signed out in another tab of it (a duplicated tab shares
// its sessionStorage): the gateway ends this tab's session (ERROR, close
// 4001 "signed out") and the page says so, offers the sign-in form, and
// opens no new WebSocket.
async function endedWithoutReconnect(page, text) {
	let sockets = 0;
	page.on('websocket', () => sockets++);
	await page.locator('#login-error', { hasText: `Your session was ended: ${text}` }).waitFor({ timeout: WAIT });
	assert.ok(await page.locator('#login-submit').isVisible());
	await page.waitForTimeout(5000); // the first retry would come after 0.5-1 s
	assert.equal(sockets, 0, 'the page reconnected');
	assert.equal(await page.evaluate(() => sessionStorage.getItem('eirc.session')), null);
}

async function freshSession(user) {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const page = await ctx.newPage();
	await login(page, user);
	return page;
}

test('signed out elsewhere: the session ends with a message and does not come back', async () => {
	const page = await freshSession(USERS[1]);
	const refresh = await page.evaluate(() => JSON.parse(sessionStorage.getItem('eirc.session')).refresh_token);
	const r = await fetch(new URL('/oauth/revoke', URL_), {
		method: 'POST',
		body: new URLSearchParams({ client_id: 'eirc-web', token: refresh }),
	});
	assert.equal(r.status, 200);
	await endedWithoutReconnect(page, 'signed out');
	await page.screenshot({ path: `${ART}/ended-signed-out.png` });
	// the sign-in form works again
	await page.locator('#username').fill(USERS[1].name);
	await page.locator('#password').fill(USERS[1].pass);
	await page.locator('#login-submit').click();
	await page.locator('#status', { hasText: 'Connected' }).waitFor({ timeout: WAIT });
	await page.context().close();
});

// eirc-auth's CLI as the README runs it (run.sh exports where).
function authCli(...args) {
	return execFileSync('bash', ['-c',
		'set -a; . "$EIRC_SECRETS_ENV"; set +a; exec "$EIRC_ROOT/build/auth/eirc-auth" --config "$EIRC_ROOT/config/eirc.yaml" "$@"',
		'eirc-auth', ...args], { encoding: 'utf8' });
}

test('an administrator disables the account: the session ends with a message', async () => {
	const page = await freshSession(USERS[1]);
	try {
		authCli('user', 'disable', USERS[1].name);
		await endedWithoutReconnect(page, 'account disabled');
		await page.screenshot({ path: `${ART}/ended-disabled.png` });
	} finally {
		authCli('user', 'enable', USERS[1].name);
		await page.context().close();
	}
});
