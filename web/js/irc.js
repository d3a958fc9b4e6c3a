// irc.js: IRC line codec for the browser (IRCv3 message-tags). Pure: strings
// in, objects out; no DOM, no sockets. Mirrors common/irc_msg.c on the
// server side, with the same escaping rules.

const TAG_UNESCAPE = { ':': ';', s: ' ', '\\': '\\', r: '\r', n: '\n' };
const TAG_ESCAPE = { ';': '\\:', ' ': '\\s', '\\': '\\\\', '\r': '\\r', '\n': '\\n' };

export function unescapeTag(value) {
	let out = '';
	for (let i = 0; i < value.length; i++) {
		const c = value[i];
		if (c !== '\\') {
			out += c;
			continue;
		}
		i++;
		if (i === value.length) break; // a lone trailing backslash is dropped
		out += TAG_UNESCAPE[value[i]] ?? value[i];
	}
	return out;
}

export function escapeTag(value) {
	return value.replace(/[; \\\r\n]/g, (c) => TAG_ESCAPE[c]);
}

// "nick!user@host" or a server name.
export function parseSource(s) {
	const bang = s.indexOf('!');
	const at = s.indexOf('@', bang + 1);
	if (bang < 0 && at < 0) return { nick: s, user: '', host: '' };
	return {
		nick: s.slice(0, bang < 0 ? at : bang),
		user: bang < 0 ? '' : s.slice(bang + 1, at < 0 ? undefined : at),
		host: at < 0 ? '' : s.slice(at + 1),
	};
}

// Returns { tags, source, command, params } or null for a line that is not IRC.
export function parseLine(line) {
	let i = 0;
	const tags = {};
	let source = null;
	const skipSpaces = () => {
		while (line[i] === ' ') i++;
	};
	if (line[0] === '@') {
		const end = line.indexOf(' ');
		if (end < 0) return null;
		for (const part of line.slice(1, end).split(';')) {
			if (!part) continue;
			const eq = part.indexOf('=');
			if (eq < 0) tags[part] = '';
			else tags[part.slice(0, eq)] = unescapeTag(part.slice(eq + 1));
		}
		i = end;
		skipSpaces();
	}
	if (line[i] === ':') {
		const end = line.indexOf(' ', i);
		if (end < 0) return null;
		source = parseSource(line.slice(i + 1, end));
		i = end;
		skipSpaces();
	}
	const params = [];
	let command = '';
	while (i < line.length) {
		if (line[i] === ':' && command) {
			params.push(line.slice(i + 1));
			break;
		}
		let end = line.indexOf(' ', i);
		if (end < 0) end = line.length;
		const word = line.slice(i, end);
		if (!command) command = word.toUpperCase();
		else params.push(word);
		i = end;
		skipSpaces();
	}
	if (!command) return null;
	return { tags, source, command, params };
}

// Builds one line (no CRLF). The last parameter becomes a trailing one when
// it needs to be. Throws on CR, LF or NUL, which would split the line.
export function buildLine(command, params = [], tags = null) {
	let line = '';
	if (tags) {
		const t = Object.entries(tags)
			.map(([k, v]) => (v === '' || v == null ? k : `${k}=${escapeTag(String(v))}`))
			.join(';');
		if (t) line = `@${t} `;
	}
	line += command;
	params.forEach((p, n) => {
		p = String(p);
		if (/[\r\n\0]/.test(p)) throw new Error('CR, LF or NUL in an IRC parameter');
		const last = n === params.length - 1;
		if (last && (p === '' || p.includes(' ') || p[0] === ':')) line += ` :${p}`;
		else line += ` ${p}`;
	});
	return line;
}

// Case mapping announced in 005 CASEMAPPING.
export function casefold(s, mapping = 'rfc1459') {
	let out = s.toLowerCase();
	if (mapping === 'ascii') return out;
	out = out.replace(/\[/g, '{').replace(/\]/g, '}').replace(/\\/g, '|');
	if (mapping !== 'strict-rfc1459') out = out.replace(/~/g, '^');
	return out;
}

export function isChannel(name, chantypes = '#&') {
	return name.length > 0 && chantypes.includes(name[0]);
}

// Splits text so that each PRIVMSG fits the 512-byte line limit: every
// piece has at most maxBytes bytes of UTF-8, cut at a character boundary
// and, when possible, at a space.
export function splitText(text, maxBytes) {
	const enc = new TextEncoder();
	const out = [];
	let rest = text;
	while (enc.encode(rest).length > maxBytes) {
		let cut = 0;
		let bytes = 0;
		for (const ch of rest) {
			const n = enc.encode(ch).length;
			if (bytes + n > maxBytes) break;
			bytes += n;
			cut += ch.length;
		}
		const space = rest.lastIndexOf(' ', cut - 1);
		if (space > cut / 2) cut = space + 1;
		out.push(rest.slice(0, cut));
		rest = rest.slice(cut);
	}
	if (rest || out.length === 0) out.push(rest);
	return out;
}

// server-time "2026-11-24T10:42:01.123Z" to a Date, or null.
export function parseTime(tag) {
	if (!tag) return null;
	const d = new Date(tag);
	return Number.isNaN(d.getTime()) ? null : d;
}
