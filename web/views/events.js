// events.js — the live event log: every change the center records, as it
// happens (the event stream), with time, host, VM, the message and the
// figures an event carries (FSR stun, migration downtime, ...).
import { h, clear, clock, words, value, badge } from '../dom.js';

// Figures: the scalar fields of an event's data, minus what is already
// shown in its own column or message.
// Numbers (stun, downtime, sizes, counts) and short words (versions,
// modes); never identifiers, digests or nested documents.
const SKIP = new Set(['message', 'time', 'type', 'vm', 'host', 'cursor', 'cluster', 'id', 'task', 'severity']);
function figures(data) {
	if (!data || typeof data !== 'object' || Array.isArray(data)) return [];
	const out = [];
	const walk = (o, prefix) => {
		for (const [k, v] of Object.entries(o)) {
			if (SKIP.has(k) || /(_id|digest|sha256|thumbprint|token)$/.test(k)) continue;
			const name = prefix ? `${prefix} ${k}` : k;
			if (typeof v === 'number' || typeof v === 'boolean') out.push([words(name), value(v)]);
			else if (typeof v === 'string' && v.length <= 24 && !/^[0-9a-f]{16,}$/.test(v)) out.push([words(name), /^[a-z_]+$/.test(v) ? words(v) : v]);
			else if (v && typeof v === 'object' && !Array.isArray(v) && !prefix && /figure|timing|stats|result/.test(k)) walk(v, k);
		}
	};
	walk(data, '');
	return out.slice(0, 8);
}

export async function render(main, ctx) {
	let newestFirst = true, follow = true, text = '';
	const body = h('tbody', {});
	const order = h('select', { id: 'events-order', 'aria-label': 'Order',
		onchange: () => { newestFirst = order.value === 'newest'; draw(); } },
	h('option', { value: 'newest' }, 'Newest first'), h('option', { value: 'oldest' }, 'Oldest first, follow new'));
	const search = h('input', { type: 'search', id: 'events-filter', placeholder: 'Filter: host, VM, words…', 'aria-label': 'Filter events',
		oninput: () => { text = search.value.toLowerCase(); draw(); } });
	const wrap = h('div', { class: 'table-wrap events-wrap', onscroll: () => {
		follow = wrap.scrollTop + wrap.clientHeight >= wrap.scrollHeight - 20;
	} }, h('table', { class: 'grid events', 'aria-label': 'Events' },
		h('thead', {}, h('tr', {}, ['Time', 'Host', 'VM', 'Event', 'Message', 'Figures'].map((t) => h('th', { scope: 'col' }, t)))), body));
	const count = h('span', { class: 'muted small', role: 'status' });
	clear(main,
		h('header', { class: 'view-head' }, h('div', {}, h('p', { class: 'crumb' }, 'Monitor'), h('h1', {}, 'Events')),
			h('div', { class: 'toolbar' }, search, order)),
		h('p', { class: 'muted small' }, 'Received live from the center\'s event stream. ', count),
		wrap);

	const match = (ev) => !text || [ev.host, ev.vm, ev.cluster, ev.type, ev.message].some((x) => x && String(x).toLowerCase().includes(text));
	const row = (ev) => h('tr', { class: ev.severity === 'warning' ? 'warn-row' : '', dataset: { cursor: ev.cursor, type: ev.type } },
		h('td', { class: 'nowrap', title: ev.time }, clock(ev.time)),
		h('td', {}, ev.host || '—'),
		h('td', {}, ev.vm || '—'),
		h('td', {}, ev.severity === 'warning' ? [badge('warning', 'warning', 'warn'), ' '] : null, words(ev.type)),
		h('td', {}, ev.message),
		h('td', {}, h('span', { class: 'figures' }, figures(ev.data).map(([k, v]) => h('span', { class: 'figure' }, h('span', { class: 'figure-k' }, k), ' ', v)))));

	function draw() {
		const evs = ctx.store.events.filter(match);
		const list = newestFirst ? evs.slice().reverse() : evs;
		clear(body, list.slice(0, 500).map(row));
		count.textContent = `${evs.length} event${evs.length === 1 ? '' : 's'} shown.`;
		if (!newestFirst && follow) wrap.scrollTop = wrap.scrollHeight;
	}
	draw();
	ctx.onEvent((ev) => {
		if (!match(ev)) return;
		const r = row(ev);
		r.classList.add('fresh');
		if (newestFirst) body.prepend(r); else body.append(r);
		if (body.children.length > 500) (newestFirst ? body.lastElementChild : body.firstElementChild).remove();
		count.textContent = `${ctx.store.events.filter(match).length} events shown.`;
		if (!newestFirst && follow) wrap.scrollTop = wrap.scrollHeight;
	});
}
