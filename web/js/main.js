// main.js: the eIRC web client. Wires the API (api.js), the IRC session
// (conn.js), the conversation state (state.js) and the DOM (view.js).
//
// URL parameters: ?room=%23support selects (and joins) a room at start;
// with &embed=1 only that room is shown, for an <iframe> on an intranet page.

import { Api } from './api.js';
import { Connection } from './conn.js';
import { splitText } from './irc.js';
import { State, toEntry } from './state.js';
import { appendEntry, el, renderLog, renderMembers, renderNav } from './view.js';

const HISTORY_PAGE = 50;
const TEXT_BYTES_MAX = 400; // PRIVMSG text per line, leaving room for the prefix

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const embedRoom = params.get('embed') === '1' ? params.get('room') : null;
const startRoom = params.get('room');

const api = new Api();
let conn = null;
let state = new State();
let current = null;           // the Buffer shown
let rooms = [];               // from /api/rooms
let labelSeq = 0;
const pendingHistory = new Map(); // label -> { buf, mode, limit }
const batches = new Map();        // batch ref -> { label, target, lines, tags }
let downSince = null;         // when the connection was lost
let joinRequested = null;     // a room the user clicked: shown once joined

// ---- screens -------------------------------------------------------------

function showLogin(message = '') {
	$('app').hidden = true;
	$('login').hidden = false;
	$('login-error').textContent = message;
	$('username').focus();
}

function showApp() {
	$('login').hidden = true;
	$('app').hidden = false;
	document.body.classList.toggle('embed', !!embedRoom);
	$('input').focus();
}

function setStatus(text, kind = 'ok') {
	const s = $('status');
	s.textContent = text;
	s.dataset.kind = kind;
}

function banner(text) {
	const b = $('banner');
	b.hidden = !text;
	b.replaceChildren();
	if (!text) return;
	b.append(text);
	if (conn && !conn.registered)
		b.append(' ', el('button', { type: 'button', text: 'Retry now', onclick: () => conn.retryNow() }));
}

// ---- rendering -----------------------------------------------------------

function navModel() {
	const names = new Map();
	for (const r of rooms) names.set(state.fold(r.name), { name: r.name, private: r.private, topic: r.topic });
	for (const b of state.buffers.values())
		if (b.kind === 'channel' && (b.joined || !names.has(state.fold(b.name))))
			names.set(state.fold(b.name), { name: b.name, private: false, topic: b.topic, ...names.get(state.fold(b.name)) });
	const model = { rooms: [], dms: [] };
	for (const [key, r] of names) {
		const b = state.buffers.get(key);
		model.rooms.push({ ...r, joined: !!b?.joined, unread: b?.unread || 0, current: b === current });
	}
	model.rooms.sort((a, b) => a.name.localeCompare(b.name));
	for (const b of state.buffers.values())
		if (b.kind === 'dm') model.dms.push({ name: b.name, unread: b.unread, current: b === current });
	return model;
}

function renderAll() {
	renderNav($('room-list'), $('dm-list'), navModel());
	if (!current) return;
	$('title').textContent = current.name;
	$('input').placeholder = current.kind === 'server' ? 'Type /help for commands' : `Message ${current.name}`;
	$('topic').textContent = current.topic;
	$('topic').title = current.topic;
	$('leave').hidden = current.kind !== 'channel' || !current.joined || !!embedRoom;
	renderMembers($('member-list'), current);
	$('members-count').textContent = current.kind === 'channel' ? String(current.members.size) : '';
	renderLog($('log'), current);
	document.title = `${current.name} · eIRC`;
}

function select(buf) {
	current = buf;
	buf.unread = 0;
	renderAll();
	$('log').scrollTop = $('log').scrollHeight;
	document.body.classList.remove('nav-open');
	$('menu-toggle').setAttribute('aria-expanded', 'false');
	maybeLoadOlder();
}

// A message or event arrived for buf.
function deliver(buf, entry) {
	if (!entry || !buf.add(entry)) return;
	if (buf !== current) {
		if (entry.kind === 'message' || entry.kind === 'action') buf.unread++;
		renderNav($('room-list'), $('dm-list'), navModel());
		return;
	}
	const last = buf.messages[buf.messages.length - 1];
	if (last === entry) appendEntry($('log'), entry);
	else renderLog($('log'), buf);
}

// ---- history (IRCv3 draft/chathistory) -----------------------------------

function historyLimit() {
	const max = Number(conn.isupport.CHATHISTORY) || 100;
	return Math.min(HISTORY_PAGE, max);
}

function requestHistory(buf, mode) {
	if (!conn.has('draft/chathistory') || buf.kind === 'server' || buf.loadingHistory) return;
	const limit = mode === 'after' ? Number(conn.isupport.CHATHISTORY) || 100 : historyLimit();
	let args;
	if (mode === 'before') {
		const oldest = buf.oldest;
		if (!oldest) return;
		args = ['BEFORE', buf.name, `msgid=${oldest.msgid}`, limit];
	} else if (mode === 'after' && buf.newest) {
		args = ['AFTER', buf.name, `msgid=${buf.newest.msgid}`, limit];
	} else {
		mode = mode === 'after' ? 'gap-latest' : 'latest';
		args = ['LATEST', buf.name, '*', limit];
	}
	const label = `h${++labelSeq}`;
	buf.loadingHistory = true;
	pendingHistory.set(label, { buf, mode, limit, fetched: 0 });
	conn.sendCmd('CHATHISTORY', args, conn.has('labeled-response') ? { label } : null);
	if (!conn.has('labeled-response')) pendingHistory.get(label).unlabeled = true;
}

function maybeLoadOlder() {
	const log = $('log');
	if (current && !current.historyDone && log.scrollTop < 80 && conn?.registered)
		requestHistory(current, 'before');
}

// The request a batch answers: by label, else the oldest unlabeled one for its target.
function takeRequest(label, target) {
	if (label && pendingHistory.has(label)) {
		const r = pendingHistory.get(label);
		pendingHistory.delete(label);
		return r;
	}
	for (const [l, r] of pendingHistory) {
		if (r.unlabeled && state.fold(r.buf.name) === state.fold(target)) {
			pendingHistory.delete(l);
			return r;
		}
	}
	return null;
}

function finishBatch(b) {
	const req = takeRequest(b.label, b.target);
	const buf = req ? req.buf : state.open(b.target);
	let added = 0;
	const older = req?.mode === 'before';
	for (const msg of older ? [...b.lines].reverse() : b.lines) {
		const e = toEntry(msg, state.me);
		if (e && buf.add(e, older)) added++;
	}
	buf.loadingHistory = false;
	if (!req) {
		if (buf === current) renderLog($('log'), buf);
		return;
	}
	const full = b.lines.length >= req.limit;
	if (req.mode !== 'after' && req.mode !== 'gap-latest' && (!full || 'draft/chathistory-end' in b.tags))
		buf.historyDone = true;
	if (req.mode === 'after' || req.mode === 'gap-latest') {
		buf.gapFetched = (buf.gapFetched || 0) + added;
		if (req.mode === 'after' && full) {
			requestHistory(buf, 'after'); // more was missed than one page
		} else if (buf.gapFrom) {
			noteGap(buf);
		}
	}
	if (buf === current) renderLog($('log'), buf);
	else if (added) renderNav($('room-list'), $('dm-list'), navModel());
	if (buf === current && req.mode === 'before') maybeLoadOlder();
}

function noteGap(buf) {
	const n = buf.gapFetched || 0;
	const from = buf.gapFrom;
	buf.add({
		id: `gap-${from.getTime()}-${buf.name}`, msgid: null, time: new Date(), kind: 'info', nick: '',
		text: `Connection lost at ${from.toLocaleTimeString()}, back at ${new Date().toLocaleTimeString()}: ` +
			(n ? `${n} message${n === 1 ? '' : 's'} sent meanwhile loaded above.` : 'nothing was missed.'),
	});
	buf.gapFrom = null;
	buf.gapFetched = 0;
}

// ---- IRC events ----------------------------------------------------------

function onLine(msg) {
	if (msg.tags.batch && batches.has(msg.tags.batch)) {
		batches.get(msg.tags.batch).lines.push(msg);
		return;
	}
	const p = msg.params;
	const nick = msg.source?.nick;
	const self = nick && state.me && state.fold(nick) === state.fold(state.me);
	switch (msg.command) {
	case 'BATCH': {
		const ref = p[0].slice(1);
		if (p[0][0] === '+') batches.set(ref, { label: msg.tags.label, target: p[2] || '', type: p[1], lines: [], tags: msg.tags });
		else if (batches.has(ref)) {
			const b = batches.get(ref);
			batches.delete(ref);
			if (b.type === 'chathistory') finishBatch(b);
			else b.lines.forEach(onLine);
		}
		return;
	}
	case 'PRIVMSG':
	case 'NOTICE': {
		const buf = state.bufferFor(msg);
		const entry = toEntry(msg, state.me);
		const settled = entry && self && settlePending(buf, entry);
		deliver(buf, entry);
		if (settled && buf === current) renderLog($('log'), buf);
		if (buf.kind === 'dm' && !current) select(buf);
		return;
	}
	case 'JOIN': {
		const buf = state.open(p[0]);
		if (self) {
			buf.joined = true;
			buf.members.clear();
			if (buf.gapFrom || buf.newest) requestHistory(buf, 'after');
			else requestHistory(buf, 'latest');
			const asked = state.fold(p[0]) === joinRequested || state.fold(p[0]) === state.fold(startRoom || '');
			if (asked) joinRequested = null;
			if (!current || asked || current === state.server) select(buf);
			else renderNav($('room-list'), $('dm-list'), navModel());
			return;
		}
		state.setMember(buf, nick);
		deliver(buf, toEntry(msg, state.me));
		if (buf === current) renderMembers($('member-list'), buf);
		return;
	}
	case 'PART':
	case 'KICK': {
		const buf = state.get(p[0]);
		if (!buf) return;
		const who = msg.command === 'KICK' ? p[1] : nick;
		if (state.fold(who) === state.fold(state.me)) {
			buf.joined = false;
			buf.members.clear();
			if (msg.command === 'KICK') deliver(buf, toEntry(msg, state.me));
			if (msg.command === 'PART' && buf === current) {
				state.close(buf.name);
				select(firstChannel() || state.server);
			}
			renderAll();
			return;
		}
		buf.members.delete(state.fold(who));
		deliver(buf, toEntry(msg, state.me));
		if (buf === current) renderAll();
		return;
	}
	case 'QUIT':
		for (const b of state.removeEverywhere(nick)) deliver(b, toEntry(msg, state.me));
		if (current) renderMembers($('member-list'), current);
		return;
	case 'NICK':
		if (self) state.me = p[0];
		for (const b of state.renameEverywhere(nick, p[0])) deliver(b, toEntry(msg, state.me));
		renderAll();
		return;
	case 'TOPIC': {
		const buf = state.open(p[0]);
		buf.topic = p[1] || '';
		deliver(buf, toEntry(msg, state.me));
		if (buf === current) renderAll();
		return;
	}
	case '332': {
		const buf = state.open(p[1]);
		buf.topic = p[2] || '';
		if (buf === current) renderAll();
		return;
	}
	case '353': {
		const buf = state.open(p[2]);
		for (const name of (p[3] || '').split(' ').filter(Boolean)) {
			const m = state.splitPrefix(name);
			state.setMember(buf, m.nick, m.prefix);
		}
		return;
	}
	case '366':
		if (current && state.fold(p[1]) === state.fold(current.name)) renderAll();
		return;
	case 'EIRC':
		onControl(msg);
		return;
	case 'FAIL':
		onFail(msg);
		return;
	default:
		if (/^[45]\d\d$/.test(msg.command)) serverNote(p.slice(1).join(' '));
	}
}

function onFail(msg) {
	const [cmd, code] = msg.params;
	if (cmd === 'CHATHISTORY') {
		for (const [l, r] of pendingHistory) {
			if (!msg.tags.label || msg.tags.label === l) {
				r.buf.loadingHistory = false;
				pendingHistory.delete(l);
				if (code === 'INVALID_TARGET') r.buf.historyDone = true;
				break;
			}
		}
	}
	serverNote(msg.params[msg.params.length - 1]);
}

function onControl(msg) {
	const what = msg.params[0];
	if (what === 'DISCONNECTED') {
		const ms = Number(msg.params[1]) || 0;
		setStatus('IRC server unreachable', 'down');
		banner(`The chat server is unreachable (${msg.params[2] || 'connection lost'}); retrying in ${Math.ceil(ms / 1000)} s.`);
		markGapStart();
	} else if (what === 'RECONNECTED') {
		setStatus('Connected');
		banner('');
	} else if (what === 'ERROR') {
		serverNote(msg.params[msg.params.length - 1]);
	}
}

function serverNote(text) {
	const entry = { id: `n${Date.now()}${Math.random()}`, msgid: null, time: new Date(), kind: 'info', nick: '', text };
	deliver(current && current !== state.server ? current : state.server, entry);
}

// Own messages are shown at once, dimmed, and replaced by the server's echo.
function settlePending(buf, echo) {
	const i = buf.messages.findIndex((m) => m.pending && m.text === echo.text);
	if (i < 0) return false;
	buf.messages.splice(i, 1);
	return true;
}

function markGapStart() {
	if (downSince) return;
	downSince = new Date();
	for (const b of state.buffers.values()) if (b.kind !== 'server') b.gapFrom = downSince;
}

// ---- sending -------------------------------------------------------------

function sendText(buf, text, action = false) {
	for (const line of text.split('\n')) {
		if (!line.trim()) continue;
		for (const piece of splitText(line, TEXT_BYTES_MAX)) {
			const body = action ? `\u0001ACTION ${piece}\u0001` : piece;
			if (!conn.sendCmd('PRIVMSG', [buf.name, body])) {
				serverNote('Not connected: the message was not sent.');
				return false;
			}
			const entry = { id: `p${++labelSeq}`, msgid: null, time: new Date(), kind: action ? 'action' : 'message', nick: state.me, self: true, text: piece, pending: conn.has('echo-message') };
			deliver(buf, entry);
		}
	}
	return true;
}

const COMMANDS = {
	join: (a) => {
		if (!a[0]) return serverNote('Usage: /join #room');
		joinRequested = state.fold(a[0]);
		conn.sendCmd('JOIN', [a[0]]);
	},
	part: (a, rest) => {
		const target = a[0] && state.isChannel(a[0]) ? a[0] : current?.name;
		conn.sendCmd('PART', rest && a[0] && state.isChannel(a[0]) ? [target, rest.slice(a[0].length).trim() || 'Leaving'] : [target, 'Leaving']);
	},
	msg: (a, rest) => {
		if (!a[0] || !rest.includes(' ')) return serverNote('Usage: /msg nick message');
		const buf = state.open(a[0]);
		sendText(buf, rest.slice(rest.indexOf(' ') + 1));
		select(buf);
	},
	query: (a) => a[0] ? select(state.open(a[0])) : serverNote('Usage: /query nick'),
	me: (a, rest) => current && sendText(current, rest, true),
	topic: (a, rest) => current && conn.sendCmd('TOPIC', [current.name, rest]),
	help: () => serverNote('Commands: /join #room, /part [#room], /msg nick text, /query nick, /me action, /topic text. Enter sends, Shift+Enter starts a new line, Alt+↑/↓ switches conversations.'),
};

function submit(text) {
	if (!text.trim() || !conn) return true;
	if (text.startsWith('/') && !text.startsWith('//')) {
		const rest = text.slice(1).replace(/^\S+\s*/, '');
		const name = text.slice(1).split(/\s/)[0].toLowerCase();
		const fn = COMMANDS[name];
		if (!fn) {
			serverNote(`Unknown command /${name}; /help lists them.`);
			return false;
		}
		fn(rest.split(/\s+/).filter(Boolean), rest);
		return true;
	}
	if (!current || current.kind === 'server') {
		serverNote('Choose a room first.');
		return false;
	}
	return sendText(current, text.startsWith('//') ? text.slice(1) : text);
}

// ---- session -------------------------------------------------------------

function firstChannel() {
	for (const b of state.buffers.values()) if (b.kind === 'channel' && b.joined) return b;
	return null;
}

function onRegistered(ev) {
	const { nick, isupport, reconnect } = ev.detail;
	state.me = nick;
	state.setISupport(isupport);
	setStatus(`Connected as ${nick}`);
	$('me').textContent = nick;
	banner('');
	const wanted = new Set();
	if (embedRoom) wanted.add(embedRoom);
	else if (startRoom) wanted.add(startRoom);
	if (reconnect) {
		markGapStart(); // a new IRC session: fetch what happened meanwhile
		for (const b of state.buffers.values()) {
			if (b.kind === 'channel' && b.joined) {
				b.joined = false;
				wanted.add(b.name);
			}
			if (b.kind === 'dm') requestHistory(b, 'after');
		}
	}
	downSince = null;
	for (const name of wanted) conn.sendCmd('JOIN', [name]);
	if (!current) select(state.server);
}

async function startChat() {
	showApp();
	setStatus('Connecting…', 'busy');
	let cfg;
	try {
		cfg = await api.clientConfig();
		rooms = embedRoom ? [] : await api.rooms();
	} catch (e) {
		if (e.status === 401) return showLogin('Please sign in again.');
		setStatus(`Cannot reach the server: ${e.message}`, 'down');
		setTimeout(startChat, 5000);
		return;
	}
	state = new State();
	current = null;
	conn = new Connection(cfg.gateway_url, () => api.chatToken());
	conn.addEventListener('line', (ev) => onLine(ev.detail));
	conn.addEventListener('registered', onRegistered);
	conn.addEventListener('down', (ev) => {
		markGapStart();
		for (const b of state.buffers.values()) b.loadingHistory = false;
		pendingHistory.clear();
		batches.clear();
		setStatus('Reconnecting…', 'down');
		banner(`Disconnected (${ev.detail.reason}); reconnecting in ${Math.ceil(ev.detail.retryInMs / 1000)} s.`);
	});
	conn.addEventListener('fatal', (ev) => showLogin(ev.detail.reason));
	// Ended by the server (account disabled or deleted, signed out
	// elsewhere): the stored tokens are of no use any more; the login
	// form is the sign-in button, and nothing reconnects.
	conn.addEventListener('ended', (ev) => {
		api.forget();
		showLogin(`Your session was ended: ${ev.detail.reason}`);
	});
	window.eirc = { conn, state }; // for the browser tests and for debugging
	conn.start();
}

// ---- DOM wiring ------------------------------------------------------------

function wire() {
	$('login-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const btn = $('login-submit');
		btn.disabled = true;
		$('login-error').textContent = '';
		try {
			await api.login($('username').value.trim(), $('password').value);
			$('password').value = '';
			startChat();
		} catch (e) {
			$('login-error').textContent = e.message;
		} finally {
			btn.disabled = false;
		}
	});
	$('compose').addEventListener('submit', (ev) => {
		ev.preventDefault();
		if (submit($('input').value)) $('input').value = '';
	});
	$('input').addEventListener('keydown', (ev) => {
		if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
			ev.preventDefault();
			$('compose').requestSubmit();
		}
	});
	document.addEventListener('keydown', (ev) => {
		if (ev.altKey && (ev.key === 'ArrowUp' || ev.key === 'ArrowDown')) {
			ev.preventDefault();
			const list = [...document.querySelectorAll('#sidebar button.conv.joined, #dm-list button.conv')];
			const i = list.findIndex((b) => b.classList.contains('current'));
			const next = list[(i + (ev.key === 'ArrowUp' ? -1 : 1) + list.length) % list.length];
			if (next) next.click();
		} else if (ev.key === 'Escape') {
			document.body.classList.remove('nav-open', 'members-open');
		}
	});
	$('sidebar').addEventListener('click', (ev) => {
		const b = ev.target.closest('button.conv');
		if (!b) return;
		const buf = state.get(b.dataset.target);
		if (buf && (buf.joined || buf.kind === 'dm')) select(buf);
		else if (conn) {
			joinRequested = state.fold(b.dataset.target);
			conn.sendCmd('JOIN', [b.dataset.target]);
		}
		$('input').focus();
	});
	$('member-list').addEventListener('click', (ev) => {
		const b = ev.target.closest('button.member');
		if (b && state.me && state.fold(b.dataset.nick) !== state.fold(state.me)) select(state.open(b.dataset.nick));
	});
	$('dm-form').addEventListener('submit', (ev) => {
		ev.preventDefault();
		const nick = $('dm-nick').value.trim();
		if (/^[^\s#&:,]+$/.test(nick)) {
			select(state.open(nick));
			$('dm-nick').value = '';
			$('input').focus();
		}
	});
	$('leave').addEventListener('click', () => current && conn.sendCmd('PART', [current.name, 'Leaving']));
	$('logout').addEventListener('click', async () => {
		conn?.stop();
		await api.logout();
		showLogin('Signed out.');
	});
	$('menu-toggle').addEventListener('click', () => {
		const open = document.body.classList.toggle('nav-open');
		$('menu-toggle').setAttribute('aria-expanded', String(open));
	});
	$('members-toggle').addEventListener('click', () => {
		const open = document.body.classList.toggle('members-open');
		$('members-toggle').setAttribute('aria-expanded', String(open));
	});
	$('log').addEventListener('scroll', maybeLoadOlder, { passive: true });
}

wire();
if (api.signedIn) startChat();
else showLogin();
