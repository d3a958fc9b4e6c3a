// Unit tests of the web client's connection (web/js/conn.js), run by Node
// without a browser or a server: a stand-in WebSocket records what the
// client opens, and the test closes it with the codes the gateway sends.
// Close 1012 (the gateway drained for a restart) reconnects within
// RESTART_SPREAD_MS without counting a failure; 4001 ends the session for
// good; anything else backs off.
import assert from 'node:assert/strict';
import { beforeEach, mock, test } from 'node:test';

class FakeWebSocket {
	static OPEN = 1;
	static opened = [];
	constructor(url, protocols) {
		this.url = String(url);
		this.protocols = protocols;
		this.readyState = FakeWebSocket.OPEN;
		this.sent = [];
		FakeWebSocket.opened.push(this);
	}
	send(line) { this.sent.push(line); }
	close() { this.readyState = 3; }
}
globalThis.WebSocket = FakeWebSocket;
globalThis.location = { href: 'https://chat.example/' };

const { CLOSE_RESTART, Connection, RESTART_SPREAD_MS } = await import('../../web/js/conn.js');

// Lets the awaited getToken() of start() run.
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function connected() {
	let n = 0;
	const c = new Connection('wss://chat.example/chat', async () => `token${++n}`);
	const events = [];
	for (const t of ['down', 'ended', 'fatal']) c.addEventListener(t, (ev) => events.push([t, ev.detail]));
	await c.start();
	return { c, events };
}

beforeEach(() => {
	FakeWebSocket.opened = [];
});

test('close 1012: reconnects within the spread with a fresh token, no failure counted', async (t) => {
	t.mock.timers.enable({ apis: ['setTimeout'] });
	const { c, events } = await connected();
	assert.equal(FakeWebSocket.opened.length, 1);
	assert.match(FakeWebSocket.opened[0].url, /chat_token=token1/);
	for (let round = 0; round < 3; round++) {
		const ws = FakeWebSocket.opened.at(-1);
		ws.onclose({ code: CLOSE_RESTART, reason: 'server restarting' });
		const [type, detail] = events.at(-1);
		assert.equal(type, 'down');
		assert.equal(detail.reason, 'server restarting');
		assert.ok(detail.retryInMs >= 0 && detail.retryInMs <= RESTART_SPREAD_MS, `${detail.retryInMs}`);
		assert.equal(c.failures, 0);
		t.mock.timers.tick(RESTART_SPREAD_MS);
		await settle();
		assert.equal(FakeWebSocket.opened.length, round + 2);
		assert.match(FakeWebSocket.opened.at(-1).url, new RegExp(`chat_token=token${round + 2}`));
	}
	c.stop();
});

test('close 4001: the session ends and nothing reconnects', async (t) => {
	t.mock.timers.enable({ apis: ['setTimeout'] });
	const { events } = await connected();
	FakeWebSocket.opened[0].onclose({ code: 4001, reason: 'signed out' });
	assert.deepEqual(events, [['ended', { reason: 'signed out' }]]);
	t.mock.timers.tick(60_000);
	await settle();
	assert.equal(FakeWebSocket.opened.length, 1);
});

test('a lost connection backs off and counts the failure', async (t) => {
	t.mock.timers.enable({ apis: ['setTimeout'] });
	const { c, events } = await connected();
	FakeWebSocket.opened[0].onclose({ code: 1006, reason: '' });
	const [type, detail] = events.at(-1);
	assert.equal(type, 'down');
	assert.equal(detail.reason, 'connection lost');
	assert.ok(detail.retryInMs >= 500 && detail.retryInMs <= 1000, `${detail.retryInMs}`);
	assert.equal(c.failures, 1);
	c.stop();
});
