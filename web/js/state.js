// state.js: what the client knows of its conversations, without the DOM.
// A buffer is a channel, a direct conversation, or the server buffer; each
// keeps its messages in time order, de-duplicated by msgid, so live lines,
// history pages and gap fills can arrive in any order.

import { casefold, isChannel, parseTime } from './irc.js';

export const MESSAGE_LIMIT = 5000; // per buffer; the oldest are dropped past it

let nextLocalId = 1;

export class Buffer {
	constructor(name, kind) {
		this.name = name;
		this.kind = kind; // 'channel' | 'dm' | 'server'
		this.messages = [];
		this.msgids = new Set();
		this.members = new Map(); // folded nick -> { nick, prefix }
		this.topic = '';
		this.joined = false;
		this.unread = 0;
		this.historyDone = false; // the start of history was reached
		this.loadingHistory = false;
	}

	get oldest() {
		return this.messages.find((m) => m.msgid) || null;
	}

	get newest() {
		for (let i = this.messages.length - 1; i >= 0; i--)
			if (this.messages[i].msgid) return this.messages[i];
		return null;
	}

	// Inserts in time order; false when a message with that msgid is here.
	// Messages often share a millisecond: live ones and later pages go after
	// their equals, an older page (fed newest first) before them.
	add(m, older = false) {
		if (m.msgid) {
			if (this.msgids.has(m.msgid)) return false;
			this.msgids.add(m.msgid);
		}
		let i = this.messages.length;
		while (i > 0 && (this.messages[i - 1].time > m.time ||
			(older && this.messages[i - 1].time.getTime() === m.time.getTime()))) i--;
		this.messages.splice(i, 0, m);
		if (this.messages.length > MESSAGE_LIMIT) {
			const gone = this.messages.shift();
			if (gone.msgid) this.msgids.delete(gone.msgid);
			this.historyDone = false;
		}
		return true;
	}
}

// Turns one IRC message into a displayable entry, or null.
export function toEntry(msg, me) {
	const time = parseTime(msg.tags.time) || new Date();
	const base = {
		id: nextLocalId++,
		msgid: msg.tags.msgid || null,
		time,
		nick: msg.source ? msg.source.nick : '',
		self: !!(msg.source && me && msg.source.nick === me),
	};
	const p = msg.params;
	switch (msg.command) {
	case 'PRIVMSG':
	case 'NOTICE': {
		let text = p[1] ?? '';
		let kind = msg.command === 'NOTICE' ? 'notice' : 'message';
		const action = /^\u0001ACTION (.*)\u0001?$/s.exec(text);
		if (action) {
			kind = 'action';
			text = action[1].replace(/\u0001$/, '');
		} else if (text.startsWith('\u0001')) {
			return null; // other CTCP
		}
		return { ...base, kind, text };
	}
	case 'JOIN':
		return { ...base, kind: 'event', text: `${base.nick} joined` };
	case 'PART':
		return { ...base, kind: 'event', text: `${base.nick} left${p[1] ? ` (${p[1]})` : ''}` };
	case 'QUIT':
		return { ...base, kind: 'event', text: `${base.nick} quit${p[0] ? ` (${p[0]})` : ''}` };
	case 'KICK':
		return { ...base, kind: 'event', text: `${p[1]} was removed by ${base.nick}${p[2] ? ` (${p[2]})` : ''}` };
	case 'NICK':
		return { ...base, kind: 'event', text: `${base.nick} is now ${p[0]}` };
	case 'TOPIC':
		return { ...base, kind: 'event', text: `${base.nick} set the topic: ${p[1] ?? ''}` };
	default:
		return null;
	}
}

export class State {
	constructor() {
		this.mapping = 'rfc1459';
		this.chantypes = '#&';
		this.prefixes = { '~': 'q', '&': 'a', '@': 'o', '%': 'h', '+': 'v' };
		this.buffers = new Map();
		this.server = new Buffer('Server', 'server');
		this.me = null;
	}

	fold(name) {
		return casefold(name, this.mapping);
	}

	isChannel(name) {
		return isChannel(name, this.chantypes);
	}

	setISupport(is) {
		if (is.CASEMAPPING) this.mapping = is.CASEMAPPING;
		if (is.CHANTYPES) this.chantypes = is.CHANTYPES;
		const m = /^\(([^)]*)\)(.*)$/.exec(is.PREFIX || '');
		if (m) {
			this.prefixes = {};
			[...m[2]].forEach((c, n) => {
				this.prefixes[c] = m[1][n];
			});
		}
	}

	get(name) {
		return this.buffers.get(this.fold(name)) || null;
	}

	open(name) {
		let b = this.get(name);
		if (!b) {
			b = new Buffer(name, this.isChannel(name) ? 'channel' : 'dm');
			this.buffers.set(this.fold(name), b);
		}
		return b;
	}

	close(name) {
		this.buffers.delete(this.fold(name));
	}

	// The buffer a PRIVMSG/NOTICE belongs to: the channel, or for a direct
	// message the other person (our own echoed messages go to the target).
	bufferFor(msg) {
		const target = msg.params[0];
		if (this.isChannel(target)) return this.open(target);
		const from = msg.source ? msg.source.nick : '';
		if (!from || from.includes('.')) return this.server; // server notices
		if (this.me && this.fold(from) === this.fold(this.me)) return this.open(target);
		return this.open(from);
	}

	setMember(buf, nick, prefix = '') {
		buf.members.set(this.fold(nick), { nick, prefix });
	}

	// "@+alice" -> { nick: 'alice', prefix: '@' } (multi-prefix keeps the highest)
	splitPrefix(name) {
		let i = 0;
		while (i < name.length && this.prefixes[name[i]]) i++;
		return { nick: name.slice(i), prefix: name.slice(0, Math.min(i, 1)) };
	}

	renameEverywhere(from, to) {
		const changed = [];
		for (const b of this.buffers.values()) {
			const m = b.members.get(this.fold(from));
			if (!m) continue;
			b.members.delete(this.fold(from));
			this.setMember(b, to, m.prefix);
			changed.push(b);
		}
		const dm = this.get(from);
		if (dm && dm.kind === 'dm') {
			this.buffers.delete(this.fold(from));
			dm.name = to;
			this.buffers.set(this.fold(to), dm);
		}
		return changed;
	}

	removeEverywhere(nick) {
		const changed = [];
		for (const b of this.buffers.values())
			if (b.members.delete(this.fold(nick))) changed.push(b);
		return changed;
	}
}
