// tasks.js — every long operation of the center as a task: what, on what,
// its state and progress, how long it took, and its result in words.
import { h, clear, badge, table, notice, time, duration, progress, resultView, words } from '../dom.js';
import * as api from '../api.js';

export async function render(main, ctx) {
	const open = new Set();
	const filter = h('select', { id: 'task-filter', 'aria-label': 'Show tasks', onchange: () => draw() },
		h('option', { value: '' }, 'All tasks'), ['running', 'queued', 'success', 'error', 'cancelled'].map((s) => h('option', { value: s }, words(s))));
	const list = h('div', {});
	clear(main,
		h('header', { class: 'view-head' }, h('div', {}, h('p', { class: 'crumb' }, 'Monitor'), h('h1', {}, 'Tasks')),
			h('div', { class: 'toolbar' }, filter)),
		list);

	async function draw() {
		const r = await api.get(`/tasks?limit=200${filter.value ? `&status=${filter.value}` : ''}`);
		clear(list, table([
			{ label: 'Task', cell: (t) => `#${t.id}` },
			{ label: 'Operation', cell: (t) => words(t.type) },
			{ label: 'Target', cell: (t) => !t.target_name ? '—' : t.target_name === t.target_kind ? t.target_name : `${words(t.target_kind)} ${t.target_name}` },
			{ label: 'State', cell: (t) => badge(t.status) },
			{ label: 'Progress', class: 'col-progress', cell: (t) => progress(t.progress, `task ${t.id} progress`, t.status) },
			{ label: 'Started', cell: (t) => time(t.started || t.created) },
			{ label: 'Duration', cell: (t) => t.started ? duration(t.started, t.finished) : 'waiting' },
			{ label: 'Outcome', class: 'col-outcome', cell: (t) => {
				if (t.error) return h('span', { class: 'text-bad' }, t.error);
				if (!t.result) return '—';
				const shown = open.has(t.id);
				return h('div', { class: 'outcome' }, h('span', {}, summary(t)), h('button', { type: 'button', class: 'btn btn-quiet small', 'aria-expanded': String(shown),
					onclick: () => { if (shown) open.delete(t.id); else open.add(t.id); draw(); } }, shown ? 'Hide result' : 'Show result'),
				shown ? resultView(t.result) : null);
			} },
		], r.tasks, { label: 'Tasks', class: 'tasks', key: (t) => t.id, empty: 'No task yet.' }));
	}
	await draw();
	let t = null;
	const timer = setInterval(() => { if (!ctx.stale()) draw().catch(() => {}); }, 3000);
	ctx.onEvent((ev) => {
		if (/^(task|compliance|depot)/.test(ev.type) && !t) t = setTimeout(() => { t = null; if (!ctx.stale()) draw().catch(() => {}); }, 300);
	});
	return () => { clearInterval(timer); clearTimeout(t); };
}

// One line saying what a finished task did, for the operations we know.
function summary(t) {
	const r = t.result || {};
	if (t.type === 'compliance.check' && r.status) {
		return `${r.hosts} host${r.hosts === 1 ? '' : 's'}: ` + Object.entries(r.status).map(([s, n]) => `${n} ${words(s)}`).join(', ');
	}
	if (t.type === 'depot.import' && r.bundle) {
		const a = r.added || {};
		const n = (a.base_images || []).length + (a.addons || []).length + (a.components || []).length;
		return `${r.bundle.name}: ${n ? `${n} release${n === 1 ? '' : 's'} added` : 'nothing new'}`;
	}
	if (t.status === 'success') return 'done';
	return words(t.status);
}
