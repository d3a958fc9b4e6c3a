// conn.js: one IRC session over WebSocket (IRCv3 websocket, text.ircv3.net),
// with capability negotiation and automatic reconnection. It knows nothing
// of the page: it emits events the client listens to.
//
// Events (CustomEvent detail):
//   'line'       a parsed IRC message
//   'registered' { nick, isupport, caps, reconnect } after 001..005 and CAP END
//   'down'       { reason, retryInMs } the connection is lost, retrying
//   'fatal'      { reason } no retry (signed out, refused)
//   'ended'      { reason } the server ended the session (close 4001: account
//                disabled or deleted, signed out elsewhere); no retry

import { buildLine, parseLine } from './irc.js';

const WANTED_CAPS = [
	'message-tags', 'server-time', 'echo-message', 'batch', 'labeled-response',
	'draft/chathistory', 'multi-prefix', 'away-notify', 'account-tag',
];
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
// The gateway's close code for a session that must not come back: ended by
// an access change (reason "account disabled", "account deleted", "signed
// out"), or a chat token eirc-auth refused ("invalid_token").
const CLOSE_ENDED = 4001;
const ENDED_TEXT = { invalid_token: 'your sign-in is no longer valid' };
// Close 1012 (service restart): the gateway drained for a restart or an
// upgrade and closed every session at once. Not a failure: reconnect at
// once, each page after its own random delay of at most RESTART_SPREAD_MS,
// so that thousands of pages do not ask eirc-auth for a chat token in the
// same second (it gives out about 2,000 a second).
export const CLOSE_RESTART = 1012;
export const RESTART_SPREAD_MS = 5000;

export class Connection extends EventTarget {
	// getToken(): Promise<string> gives a fresh chat token for each attempt.
	constructor(url, getToken) {
		super();
		this.url = url;
		this.getToken = getToken;
		this.ws = null;
		this.stopped = false;
		this.failures = 0;
		this.everRegistered = false;
		this.timer = null;
		this.reset();
	}

	reset() {
		this.caps = new Set();
		this.offered = new Set();
		this.isupport = {};
		this.nick = null;
		this.registered = false;
	}

	emit(type, detail) {
		this.dispatchEvent(new CustomEvent(type, { detail }));
	}

	async start() {
		this.stopped = false;
		let token;
		try {
			token = await this.getToken();
		} catch (e) {
			if (e.status === 401) {
				this.emit('fatal', { reason: e.message });
				return;
			}
			this.retry(`cannot get a chat token (${e.message})`);
			return;
		}
		if (this.stopped) return;
		this.reset();
		const u = new URL(this.url, location.href);
		u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
		u.searchParams.set('chat_token', token);
		const ws = new WebSocket(u, ['text.ircv3.net']);
		this.ws = ws;
		ws.onopen = () => {
			this.send('CAP LS 302');
			this.send('NICK *');
			this.send('USER web 0 * :web');
		};
		ws.onmessage = (ev) => {
			if (typeof ev.data !== 'string') return;
			const msg = parseLine(ev.data);
			if (msg) this.handle(msg);
		};
		ws.onclose = (ev) => {
			if (this.ws !== ws) return;
			this.ws = null;
			if (this.stopped) return;
			if (ev.code === CLOSE_ENDED) {
				this.stopped = true;
				clearTimeout(this.timer);
				this.registered = false;
				this.emit('ended', { reason: ENDED_TEXT[ev.reason] || ev.reason || 'signed out' });
				return;
			}
			if (ev.code === CLOSE_RESTART) {
				this.retry(ev.reason || 'server restarting', Math.round(Math.random() * RESTART_SPREAD_MS));
				return;
			}
			const why = ev.reason || (ev.code === 1006 ? 'connection lost' : `closed (${ev.code})`);
			this.retry(why);
		};
	}

	// Reconnects after delayMs, or (undefined) after the backoff of one more
	// failure: 1 s doubling up to 30 s, with jitter.
	retry(reason, delayMs) {
		if (this.stopped) return;
		let delay = delayMs;
		if (delay === undefined) {
			const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.failures, 5));
			delay = Math.round(base / 2 + Math.random() * (base / 2));
			this.failures++;
		}
		this.registered = false;
		this.emit('down', { reason, retryInMs: delay });
		clearTimeout(this.timer);
		this.timer = setTimeout(() => this.start(), delay);
	}

	// Reconnect now (the user clicked "retry").
	retryNow() {
		clearTimeout(this.timer);
		if (!this.ws && !this.stopped) this.start();
	}

	stop() {
		this.stopped = true;
		clearTimeout(this.timer);
		if (this.ws) {
			this.send('QUIT :Signed out');
			this.ws.close(1000);
			this.ws = null;
		}
	}

	// For tests and the "reconnect" button: drop the socket as a network would.
	drop() {
		if (this.ws) this.ws.close(4000, 'dropped');
	}

	send(line) {
		if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
		this.ws.send(line);
		return true;
	}

	sendCmd(command, params, tags) {
		return this.send(buildLine(command, params, tags));
	}

	has(cap) {
		return this.caps.has(cap);
	}

	handle(msg) {
		switch (msg.command) {
		case 'CAP':
			this.onCap(msg);
			return;
		case 'PING':
			this.sendCmd('PONG', msg.params);
			return;
		case '001':
			this.nick = msg.params[0];
			break;
		case '005':
			for (const tok of msg.params.slice(1, -1)) {
				const eq = tok.indexOf('=');
				if (eq < 0) this.isupport[tok] = '';
				else this.isupport[tok.slice(0, eq)] = tok.slice(eq + 1);
			}
			break;
		case '376':
		case '422':
			if (!this.registered) {
				this.registered = true;
				const reconnect = this.everRegistered;
				this.everRegistered = true;
				this.failures = 0;
				this.emit('registered', {
					nick: this.nick, isupport: this.isupport, caps: this.caps, reconnect,
				});
			}
			break;
		case 'NICK':
			if (msg.source && msg.source.nick === this.nick) this.nick = msg.params[0];
			break;
		default:
			break;
		}
		this.emit('line', msg);
	}

	onCap(msg) {
		const sub = (msg.params[1] || '').toUpperCase();
		const list = msg.params[msg.params.length - 1].split(' ').filter(Boolean);
		const more = msg.params[2] === '*';
		if (sub === 'LS') {
			for (const c of list) this.offered.add(c.split('=')[0]);
			if (more) return;
			const want = WANTED_CAPS.filter((c) => this.offered.has(c));
			if (want.length) this.sendCmd('CAP', ['REQ', want.join(' ')]);
			else this.send('CAP END');
		} else if (sub === 'ACK') {
			for (const c of list) {
				if (c[0] === '-') this.caps.delete(c.slice(1));
				else this.caps.add(c);
			}
			if (!this.registered) this.send('CAP END');
		} else if (sub === 'NAK') {
			if (!this.registered) this.send('CAP END');
		} else if (sub === 'DEL') {
			for (const c of list) this.caps.delete(c);
		}
	}
}
