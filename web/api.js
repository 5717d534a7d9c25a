// api.js — the center's REST API as the web client speaks it.
//
// Every call carries the operator's token as a bearer token; the token
// lives in sessionStorage (gone with the tab) and nowhere else. Errors
// come back as ApiError with the server's own message (the center's error
// body names what is wrong), so views can show it in words. A 401 on any
// call means the token is no longer accepted: the app signs out.
//
// Three transports: fetch for JSON; XMLHttpRequest for bundle uploads (it
// reports upload progress, fetch does not); and the event stream, read
// with fetch and parsed here, because EventSource cannot send a token.

const TOKEN_KEY = 'seam.center.token';
export const BASE = '/api/v1';

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;
		this.code = code;
	}
	// The route does not exist on this server (an older center).
	get missing() {
		return this.status === 404 && /no endpoint/.test(this.message) ||
			this.status === 405 || this.status === 501;
	}
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export const token = {
	get: () => sessionStorage.getItem(TOKEN_KEY),
	set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
	clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

async function errorOf(res) {
	let code = 'error', message = `${res.status} ${res.statusText}`;
	try {
		const body = await res.json();
		if (body && body.error) {
			code = body.error.code || code;
			message = body.error.message || message;
		}
	} catch { /* not JSON */ }
	return new ApiError(res.status, code, message);
}

export async function call(method, path, body, opts = {}) {
	const headers = { Authorization: `Bearer ${opts.token || token.get() || ''}` };
	const init = { method, headers };
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	let res;
	try {
		res = await fetch(BASE + path, init);
	} catch (e) {
		throw new ApiError(0, 'network', 'the center cannot be reached (network error)');
	}
	if (res.status === 401 && !opts.token) {
		const err = await errorOf(res);
		onUnauthorized(err);
		throw err;
	}
	if (!res.ok) throw await errorOf(res);
	if (res.status === 204) return null;
	const text = await res.text();
	return text ? JSON.parse(text) : null;
}

export const get = (p, o) => call('GET', p, undefined, o);
export const post = (p, b) => call('POST', p, b);
export const put = (p, b) => call('PUT', p, b);
export const patch = (p, b) => call('PATCH', p, b);
export const del = (p) => call('DELETE', p);

export const enc = encodeURIComponent;

// Upload a file as the raw request body, reporting progress (0..1).
export function upload(path, file, onProgress) {
	return new Promise((resolve, reject) => {
		const x = new XMLHttpRequest();
		x.open('POST', BASE + path);
		x.setRequestHeader('Authorization', `Bearer ${token.get() || ''}`);
		x.setRequestHeader('Content-Type', 'application/zip');
		x.upload.onprogress = (e) => {
			if (e.lengthComputable) onProgress(e.loaded / e.total, 'upload');
		};
		x.upload.onload = () => onProgress(1, 'verify');
		x.onerror = () => reject(new ApiError(0, 'network', 'the upload was interrupted (network error)'));
		x.onload = () => {
			let body = null;
			try { body = JSON.parse(x.responseText); } catch { /* empty */ }
			if (x.status >= 200 && x.status < 300) return resolve(body);
			const err = new ApiError(x.status, body?.error?.code || 'error',
				body?.error?.message || `${x.status} ${x.statusText}`);
			if (x.status === 401) onUnauthorized(err);
			reject(err);
		};
		x.send(file);
	});
}

// Follow the event stream from cursor `after`; onEvent(ev) per event,
// onState('live' | 'reconnecting' | 'closed'). Reconnects with backoff and
// resumes from the last cursor. Returns a function that stops it.
export function followEvents(after, onEvent, onState) {
	let stopped = false, ctl = null, cursor = after, delay = 500;

	async function once() {
		ctl = new AbortController();
		const res = await fetch(`${BASE}/events/stream?after=${cursor}`, {
			headers: { Authorization: `Bearer ${token.get() || ''}` },
			signal: ctl.signal,
		});
		if (res.status === 401) {
			onUnauthorized(await errorOf(res));
			stopped = true;
			return;
		}
		if (!res.ok || !res.body) throw await errorOf(res);
		onState('live');
		delay = 500;
		const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
		let buf = '';
		for (;;) {
			const { value, done } = await reader.read();
			if (done) break;
			buf += value;
			let i;
			while ((i = buf.indexOf('\n\n')) >= 0) {
				const block = buf.slice(0, i);
				buf = buf.slice(i + 2);
				let data = '';
				for (const line of block.split('\n')) {
					if (line.startsWith('data:')) data += line.slice(5).trimStart();
				}
				if (!data) continue;
				try {
					const ev = JSON.parse(data);
					if (typeof ev.cursor === 'number') cursor = Math.max(cursor, ev.cursor);
					onEvent(ev);
				} catch { /* a broken line: skip it */ }
			}
		}
	}

	(async () => {
		while (!stopped) {
			try {
				await once();
			} catch { /* fall through to the retry */ }
			if (stopped) break;
			onState('reconnecting');
			await new Promise((r) => setTimeout(r, delay));
			delay = Math.min(delay * 2, 10000);
		}
		onState('closed');
	})();
	return () => {
		stopped = true;
		if (ctl) ctl.abort();
	};
}
