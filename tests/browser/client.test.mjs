// Unit tests of the web client's pure modules (web/js/irc.js, state.js),
// run by Node without a browser: the IRC codec against the same rules as
// common/irc_msg.c, and the conversation state's ordering and de-duplication.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildLine, casefold, escapeTag, parseLine, splitText, unescapeTag } from '../../web/js/irc.js';
import { Buffer, MESSAGE_LIMIT, State, toEntry } from '../../web/js/state.js';

test('parseLine: tags, source, params, trailing', () => {
	const m = parseLine('@time=2026-11-24T10:00:00.000Z;msgid=abc;+x=a\\sb\\:c :alice!u1@host PRIVMSG #chan :hello  world ');
	assert.deepEqual(m.tags, { time: '2026-11-24T10:00:00.000Z', msgid: 'abc', '+x': 'a b;c' });
	assert.deepEqual(m.source, { nick: 'alice', user: 'u1', host: 'host' });
	assert.equal(m.command, 'PRIVMSG');
	assert.deepEqual(m.params, ['#chan', 'hello  world ']);
	assert.deepEqual(parseLine('ping  x   y').params, ['x', 'y']);
	assert.equal(parseLine('PING').command, 'PING');
	assert.deepEqual(parseLine(':irc.example 001 me :Welcome').source, { nick: 'irc.example', user: '', host: '' });
	assert.deepEqual(parseLine('CMD :').params, ['']);
	for (const bad of ['', '@tags-only', ':source-only', '   ']) assert.equal(parseLine(bad), null, bad);
});

test('tag escaping round-trips and drops a lone backslash', () => {
	const v = 'a;b c\\d\r\ne';
	assert.equal(unescapeTag(escapeTag(v)), v);
	assert.equal(unescapeTag('abc\\'), 'abc');
	assert.equal(unescapeTag('\\q'), 'q');
});

test('buildLine: trailing only when needed, never CR/LF/NUL', () => {
	assert.equal(buildLine('PRIVMSG', ['#a', 'hi']), 'PRIVMSG #a hi');
	assert.equal(buildLine('PRIVMSG', ['#a', 'hi there']), 'PRIVMSG #a :hi there');
	assert.equal(buildLine('PRIVMSG', ['#a', ':)']), 'PRIVMSG #a ::)');
	assert.equal(buildLine('PRIVMSG', ['#a', '']), 'PRIVMSG #a :');
	assert.equal(buildLine('CHATHISTORY', ['LATEST', '#a', '*', 50], { label: 'h1' }), '@label=h1 CHATHISTORY LATEST #a * 50');
	for (const bad of ['a\rb', 'a\nb', 'a\0b']) assert.throws(() => buildLine('PRIVMSG', ['#a', bad]));
});

test('splitText: pieces fit the byte limit, at character and word boundaries', () => {
	const enc = new TextEncoder();
	const text = 'é'.repeat(300) + ' ' + 'word '.repeat(100) + '😀'.repeat(50);
	const parts = splitText(text, 400);
	assert.ok(parts.length > 1);
	for (const p of parts) assert.ok(enc.encode(p).length <= 400, `${enc.encode(p).length} bytes`);
	assert.equal(parts.join(''), text);
	assert.deepEqual(splitText('short', 400), ['short']);
	assert.deepEqual(splitText('x'.repeat(400), 400), ['x'.repeat(400)]);
	assert.equal(splitText('x'.repeat(401), 400).length, 2);
});

test('casefold follows CASEMAPPING', () => {
	assert.equal(casefold('#Chan[]\\~', 'rfc1459'), '#chan{}|^');
	assert.equal(casefold('#Chan[]\\~', 'strict-rfc1459'), '#chan{}|~');
	assert.equal(casefold('#Chan[]', 'ascii'), '#chan[]');
});

test('a buffer keeps time order and stores a msgid once', () => {
	const b = new Buffer('#a', 'channel');
	const at = (s) => new Date(`2026-11-24T10:00:${s}.000Z`);
	assert.ok(b.add({ msgid: 'm2', time: at('02') }));
	assert.ok(b.add({ msgid: 'm1', time: at('01') }));
	assert.ok(b.add({ msgid: 'm3', time: at('03') }));
	assert.equal(b.add({ msgid: 'm2', time: at('02') }), false);
	assert.deepEqual(b.messages.map((m) => m.msgid), ['m1', 'm2', 'm3']);
	assert.equal(b.oldest.msgid, 'm1');
	assert.equal(b.newest.msgid, 'm3');
	for (let i = 0; i < MESSAGE_LIMIT + 1; i++) b.add({ msgid: `x${i}`, time: at('04') });
	assert.equal(b.messages.length, MESSAGE_LIMIT);
	assert.equal(b.msgids.has('m1'), false); // the oldest went, and can come back
});

test('a page of older messages sharing a millisecond keeps the server order', () => {
	const b = new Buffer('#a', 'channel');
	const t = new Date('2026-11-24T10:00:00.000Z');
	for (let i = 4; i <= 6; i++) b.add({ msgid: `m${i}`, time: t }); // live
	for (const i of [3, 2, 1]) b.add({ msgid: `m${i}`, time: t }, true); // BEFORE, newest first
	b.add({ msgid: 'm7', time: t }); // live again
	assert.deepEqual(b.messages.map((m) => m.msgid), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
});

test('state: direct messages go to the other person, own echoes to the target', () => {
	const s = new State();
	s.me = 'alice';
	const dmIn = parseLine(':bob!u2@h PRIVMSG alice :hi');
	assert.equal(s.bufferFor(dmIn).name, 'bob');
	const echo = parseLine(':Alice!u1@h PRIVMSG bob :hello');
	assert.equal(s.bufferFor(echo), s.get('BOB'));
	assert.equal(s.bufferFor(parseLine(':irc.local NOTICE alice :server says')), s.server);
	assert.equal(s.bufferFor(parseLine(':bob!u2@h PRIVMSG #Room :x')).kind, 'channel');
	assert.equal(s.get('#room').name, '#Room');
});

test('toEntry: actions, other CTCP dropped, events described', () => {
	const e = toEntry(parseLine('@time=2026-11-24T10:00:00.000Z;msgid=z :bob!u@h PRIVMSG #a :\u0001ACTION waves\u0001'), 'alice');
	assert.equal(e.kind, 'action');
	assert.equal(e.text, 'waves');
	assert.equal(e.msgid, 'z');
	assert.equal(e.time.toISOString(), '2026-11-24T10:00:00.000Z');
	assert.equal(toEntry(parseLine(':bob!u@h PRIVMSG #a :\u0001VERSION\u0001'), 'alice'), null);
	assert.equal(toEntry(parseLine(':bob!u@h KICK #a carol :bye'), 'alice').text, 'carol was removed by bob (bye)');
	assert.equal(toEntry(parseLine(':alice!u@h PRIVMSG #a :x'), 'alice').self, true);
});

test('state: nick changes move members and the DM buffer', () => {
	const s = new State();
	const room = s.open('#a');
	s.setMember(room, 'bob', '@');
	s.open('bob');
	s.renameEverywhere('bob', 'robert');
	assert.equal(room.members.get('robert').prefix, '@');
	assert.equal(s.get('bob'), null);
	assert.equal(s.get('robert').name, 'robert');
	assert.deepEqual(s.splitPrefix('@+carol'), { nick: 'carol', prefix: '@' });
});
