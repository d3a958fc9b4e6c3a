// api.js: the web client's side of eirc-auth (docs/api.md): OAuth 2.0
// password grant for the public client "eirc-web", refresh before expiry,
// chat tokens, rooms. Tokens live in sessionStorage: a reload keeps the
// session in this tab, closing the tab ends it.

const CLIENT_ID = 'eirc-web';
const STORE_KEY = 'eirc.session';
const REFRESH_MARGIN_MS = 30_000;

export class AuthError extends Error {
	constructor(message, status) {
		super(message);
		this.status = status;
	}
}

export class Api {
	constructor(base = '') {
		this.base = base;
		this.session = null;
		this.refreshing = null;
		try {
			this.session = JSON.parse(sessionStorage.getItem(STORE_KEY));
		} catch {
			this.session = null;
		}
	}

	get signedIn() {
		return !!this.session?.refresh_token;
	}

	save(tok) {
		this.session = {
			access_token: tok.access_token,
			refresh_token: tok.refresh_token,
			expires_at: Date.now() + tok.expires_in * 1000,
		};
		sessionStorage.setItem(STORE_KEY, JSON.stringify(this.session));
	}

	forget() {
		this.session = null;
		sessionStorage.removeItem(STORE_KEY);
	}

	async tokenRequest(fields) {
		const body = new URLSearchParams({ client_id: CLIENT_ID, ...fields });
		const r = await fetch(`${this.base}/oauth/token`, { method: 'POST', body });
		const j = await r.json().catch(() => ({}));
		if (!r.ok) {
			const why = r.status === 429 ? 'Too many attempts; try again in a moment.'
				: j.error === 'invalid_grant' ? 'Wrong user name or password.'
				: j.error_description || `Sign-in failed (${r.status}).`;
			throw new AuthError(why, r.status);
		}
		this.save(j);
	}

	login(username, password) {
		return this.tokenRequest({ grant_type: 'password', username, password });
	}

	// One refresh at a time: concurrent callers share it (a refresh token is
	// single-use; presenting it twice would revoke the whole session).
	refresh() {
		if (!this.session) return Promise.reject(new AuthError('Not signed in.', 401));
		this.refreshing ??= this.tokenRequest({
			grant_type: 'refresh_token',
			refresh_token: this.session.refresh_token,
		}).catch((e) => {
			if (e.status && e.status < 500 && e.status !== 429) this.forget();
			throw e;
		}).finally(() => {
			this.refreshing = null;
		});
		return this.refreshing;
	}

	async accessToken() {
		if (!this.session) throw new AuthError('Not signed in.', 401);
		if (Date.now() > this.session.expires_at - REFRESH_MARGIN_MS) await this.refresh();
		return this.session.access_token;
	}

	// fetch with the Bearer token; one refresh and retry after a 401.
	async call(path, init = {}) {
		for (let attempt = 0; ; attempt++) {
			const headers = { ...init.headers, Authorization: `Bearer ${await this.accessToken()}` };
			const r = await fetch(`${this.base}${path}`, { ...init, headers });
			if (r.status === 401 && attempt === 0) {
				await this.refresh();
				continue;
			}
			if (r.status === 401) {
				this.forget();
				throw new AuthError('Your session has ended; please sign in again.', 401);
			}
			if (!r.ok) throw new AuthError(`${path}: HTTP ${r.status}`, r.status);
			return r.status === 204 ? null : r.json();
		}
	}

	async chatToken() {
		return (await this.call('/api/chat-token', { method: 'POST' })).chat_token;
	}

	me() {
		return this.call('/api/me');
	}

	rooms() {
		return this.call('/api/rooms');
	}

	async clientConfig() {
		const r = await fetch(`${this.base}/api/client-config`);
		if (!r.ok) throw new AuthError(`client configuration: HTTP ${r.status}`, r.status);
		return r.json();
	}

	async logout() {
		const tok = this.session?.refresh_token;
		this.forget();
		if (tok) {
			await fetch(`${this.base}/oauth/revoke`, {
				method: 'POST',
				body: new URLSearchParams({ client_id: CLIENT_ID, token: tok }),
			}).catch(() => {});
		}
	}
}
