// view.js: DOM rendering. Every piece of text from the network goes in with
// textContent or as an attribute of an element built here, never as HTML,
// so a message cannot inject markup. Links are made only for http(s) URLs.

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING_PUNCT = /[.,;:!?)\]}'"]+$/;

export function el(tag, props = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(props)) {
		if (v == null || v === false) continue;
		if (k === 'class') e.className = v;
		else if (k === 'text') e.textContent = v;
		else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else e.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children) if (c != null) e.append(c);
	return e;
}

// Text with clickable http(s) links, as DOM nodes.
export function linkify(text) {
	const frag = document.createDocumentFragment();
	let last = 0;
	for (const m of text.matchAll(URL_RE)) {
		let url = m[0];
		const trail = TRAILING_PUNCT.exec(url);
		if (trail) url = url.slice(0, -trail[0].length);
		let href = null;
		try {
			const u = new URL(url);
			if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
		} catch {
			href = null;
		}
		if (!href) continue;
		frag.append(text.slice(last, m.index));
		frag.append(el('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow', text: url }));
		last = m.index + url.length;
	}
	frag.append(text.slice(last));
	return frag;
}

// One of 12 colour classes, stable per nick.
export function nickClass(nick) {
	let h = 0;
	for (const c of nick.toLowerCase()) h = (h * 31 + c.codePointAt(0)) >>> 0;
	return `nick-${h % 12}`;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export function renderEntry(m) {
	const time = el('time', { datetime: m.time.toISOString(), title: m.time.toLocaleString(), text: timeFmt.format(m.time) });
	const li = el('li', {
		class: `entry entry-${m.kind}${m.self ? ' self' : ''}${m.pending ? ' pending' : ''}`,
		'data-msgid': m.msgid,
	}, time);
	if (m.kind === 'message' || m.kind === 'notice') {
		li.append(el('span', { class: `nick ${nickClass(m.nick)}`, text: m.nick }));
		li.append(el('span', { class: 'text' }, linkify(m.text)));
	} else if (m.kind === 'action') {
		li.append(el('span', { class: 'text' }, el('span', { class: `nick ${nickClass(m.nick)}`, text: `* ${m.nick} ` }), linkify(m.text)));
	} else {
		li.append(el('span', { class: 'text' }, linkify(m.text)));
	}
	return li;
}

// Renders a buffer's messages into the log, keeping the reader's place:
// stuck to the bottom if they were at the bottom, else the same first
// visible message (history pages are prepended above it).
export function renderLog(log, buf) {
	const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
	const anchor = [...log.children].find((c) => c.offsetTop >= log.scrollTop);
	const anchorId = anchor?.dataset.msgid;
	const anchorOffset = anchor ? anchor.offsetTop - log.scrollTop : 0;
	const list = el('ol', { class: 'entries' });
	if (buf.historyDone && buf.kind !== 'server')
		list.append(el('li', { class: 'entry entry-info', text: 'Start of the conversation' }));
	for (const m of buf.messages) list.append(renderEntry(m));
	log.replaceChildren(...list.children);
	if (atBottom || !anchorId) {
		log.scrollTop = log.scrollHeight;
		return;
	}
	const again = log.querySelector(`[data-msgid="${CSS.escape(anchorId)}"]`);
	if (again) log.scrollTop = again.offsetTop - anchorOffset;
}

export function appendEntry(log, m) {
	const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
	log.append(renderEntry(m));
	if (atBottom || m.self) log.scrollTop = log.scrollHeight;
}

export function renderMembers(ul, buf) {
	const rank = (p) => (p ? '~&@%+'.indexOf(p) : 9);
	const members = [...buf.members.values()].sort((a, b) =>
		rank(a.prefix) - rank(b.prefix) || a.nick.localeCompare(b.nick));
	ul.replaceChildren(...members.map((m) => el('li', {},
		el('button', { type: 'button', class: 'member', 'data-nick': m.nick, title: `Message ${m.nick}` },
			el('span', { class: 'prefix', text: m.prefix }),
			el('span', { class: `nick ${nickClass(m.nick)}`, text: m.nick })))));
}

// The conversation list: rooms from eirc-auth (joined or not) and buffers.
export function renderNav(roomsUl, dmsUl, model) {
	roomsUl.replaceChildren(...model.rooms.map((r) => el('li', {},
		el('button', {
			type: 'button', class: `conv${r.current ? ' current' : ''}${r.joined ? ' joined' : ''}`,
			'data-target': r.name, 'aria-current': r.current ? 'true' : null,
			title: r.joined ? r.topic || r.name : `Join ${r.name}`,
		},
		el('span', { class: 'name', text: r.name }),
		r.private ? el('span', { class: 'badge', text: 'private' }) : null,
		r.unread ? el('span', { class: 'unread', text: String(r.unread), 'aria-label': `${r.unread} unread` }) : null))));
	dmsUl.replaceChildren(...model.dms.map((d) => el('li', {},
		el('button', {
			type: 'button', class: `conv${d.current ? ' current' : ''}`, 'data-target': d.name,
			'aria-current': d.current ? 'true' : null,
		},
		el('span', { class: `name ${nickClass(d.name)}`, text: d.name }),
		d.unread ? el('span', { class: 'unread', text: String(d.unread), 'aria-label': `${d.unread} unread` }) : null))));
}
