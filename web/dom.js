// dom.js — building the page: elements, state badges, tables, formats.
//
// Everything the client shows goes through here, so that states read the
// same everywhere: a badge always has its word (colour is never the only
// sign), and values the server sends as identifiers (non_compliant,
// partial_maintenance_mode) are shown as words. Text is always set as
// text, never as HTML.

export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
		else if (k === 'class') el.className = v;
		else if (k === 'dataset') Object.assign(el.dataset, v);
		else if (k in el && typeof v !== 'string') el[k] = v;
		else el.setAttribute(k, v === true ? '' : v);
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === undefined || c === null || c === false) continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

export function clear(el, ...children) {
	el.replaceChildren();
	append(el, children);
	return el;
}

// identifier → words: "partial_maintenance_mode" → "partial maintenance mode"
export const words = (s) => (s === null || s === undefined || s === '') ? '—'
	: String(s).replace(/^non_compliant$/, 'non-compliant').replace(/[_.]/g, ' ');

const TONES = {
	// connection, power, tasks
	connected: 'ok', disconnected: 'bad', running: 'ok', stopped: 'off',
	suspended: 'warn', paused: 'warn', success: 'ok', error: 'bad',
	queued: 'info', cancelled: 'off', ok: 'ok', passed: 'ok', failed: 'bad',
	skipped: 'off', timed_out: 'bad', retry_pending: 'warn', warning: 'warn',
	// compliance
	compliant: 'ok', non_compliant: 'warn', incompatible: 'bad', unknown: 'off',
	// maintenance
	none: 'ok', partial: 'warn', full: 'bad',
	info: 'info',
};

export function badge(state, label, tone) {
	const t = tone || TONES[state] || 'off';
	return h('span', { class: `badge tone-${t}`, dataset: { state: state ?? '' } }, label ?? words(state));
}

export function maintBadge(mode) {
	if (!mode || mode === 'none') return null;
	return badge(mode, mode === 'partial' ? 'partial maintenance' : 'maintenance', mode === 'partial' ? 'warn' : 'bad');
}

export function impactBadge(impact, reboot) {
	if (!impact) return badge('unknown', 'unknown');
	if (impact === 'none') return badge('none', 'none', 'ok');
	if (impact === 'partial_maintenance_mode') return badge(impact, 'partial maintenance mode', 'info');
	return badge(impact, reboot ? 'maintenance mode + reboot' : 'maintenance mode', 'warn');
}

export const livePatchTag = (from) => h('span', {
	class: 'tag tag-live', title: from && from.length ? `can be live patched from ${from.join(', ')}` : 'can be live patched',
}, 'live patch');

export function progress(value, label, status) {
	const v = Math.max(0, Math.min(100, Math.round(value || 0)));
	const tone = status ? (TONES[status] || 'info') : 'info';
	return h('div', { class: `progress progress-${tone}`, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
		'aria-valuenow': v, 'aria-label': label || 'progress' },
	h('div', { class: 'progress-fill', style: `width:${v}%` }),
	h('span', { class: 'progress-text' }, `${v}%`));
}

export function time(iso) {
	if (!iso) return '—';
	const d = new Date(iso);
	if (Number.isNaN(d.getTime())) return iso;
	const pad = (n, w = 2) => String(n).padStart(w, '0');
	return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function clock(iso) {
	if (!iso) return '—';
	const d = new Date(iso);
	const pad = (n, w = 2) => String(n).padStart(w, '0');
	return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function duration(a, b) {
	if (!a) return '—';
	const ms = (b ? new Date(b) : new Date()) - new Date(a);
	if (ms < 1000) return `${ms} ms`;
	if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
	return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

export function bytes(n) {
	if (n === null || n === undefined) return '—';
	if (n < 1024) return `${n} B`;
	if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
	if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
	return `${(n / (1 << 30)).toFixed(2)} GiB`;
}

export const short = (hex, n = 12) => hex ? String(hex).slice(0, n) : '—';

// A value shown in words: scalars as text, lists joined, objects as
// "key value" pairs — never as JSON.
export function value(v) {
	if (v === null || v === undefined || v === '') return '—';
	if (typeof v === 'boolean') return v ? 'yes' : 'no';
	if (Array.isArray(v)) {
		if (v.length === 0) return 'none';
		if (v.every((x) => typeof x !== 'object' || x === null)) return v.map(value).join(', ');
		return `${v.length} items`;
	}
	if (typeof v === 'object') {
		return Object.entries(v).map(([k, x]) => `${words(k)} ${value(x)}`).join('; ');
	}
	return String(v);
}

// A table: columns [{label, cell(row) → node|string, class}]
export function table(columns, rows, opts = {}) {
	if (!rows || rows.length === 0) return h('p', { class: 'empty' }, opts.empty || 'Nothing to show.');
	return h('div', { class: 'table-wrap' }, h('table', { class: `grid ${opts.class || ''}`, 'aria-label': opts.label },
		h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
		h('tbody', {}, rows.map((r) => h('tr', { dataset: opts.key ? { key: opts.key(r) } : undefined },
			columns.map((c) => h('td', { class: c.class }, c.cell(r))))))));
}

// A definition list of [label, value] pairs.
export function facts(pairs) {
	return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) =>
		[h('dt', {}, k), h('dd', {}, v instanceof Node ? v : value(v))]));
}

// An arbitrary result object (a task's result): each array of objects
// becomes a table, each scalar a fact, each object a nested block.
export function resultView(r) {
	if (r === null || r === undefined) return h('p', { class: 'empty' }, 'No result.');
	if (typeof r !== 'object') return h('p', {}, value(r));
	const scalars = [], blocks = [];
	for (const [k, v] of Object.entries(r)) {
		if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
			const keys = [...new Set(v.flatMap((x) => Object.keys(x)))];
			blocks.push(h('div', { class: 'result-block' }, h('h4', {}, words(k)),
				table(keys.map((key) => ({ label: words(key), cell: (row) => stateCell(key, row[key]) })), v)));
		} else if (v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).some((x) => x && typeof x === 'object')) {
			blocks.push(h('div', { class: 'result-block' }, h('h4', {}, words(k)), resultView(v)));
		} else {
			scalars.push([words(k), stateCell(k, v)]);
		}
	}
	return h('div', { class: 'result' }, scalars.length ? facts(scalars) : null, blocks);
}

function stateCell(key, v) {
	if (typeof v === 'string' && /^(status|state|result|impact|mode|maintenance|compliance)$/.test(key)) return badge(v);
	return value(v);
}

// A notice box: kind info | warn | error | ok.
export function notice(kind, ...children) {
	return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, children);
}

export function section(title, ...children) {
	return h('section', { class: 'panel', 'aria-label': title }, h('h2', {}, title), children);
}
