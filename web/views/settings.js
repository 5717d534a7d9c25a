// settings.js — the lifecycle settings, global or a cluster's overrides
// (merged field by field over the global ones): live patch, DRS, parallel
// remediation, failure action, tolerated failures, power policy, ...
// Each field is described in words; a cluster field is either inherited
// (shows the global value) or overridden.
import { h, clear, section, notice, words } from '../dom.js';
import * as api from '../api.js';

// The settings the center holds (docs/center-api.yaml, Settings).
const FIELDS = [
	{ key: 'live_patch', label: 'Live patch', kind: 'choice', choices: ['disable', 'auto', 'enforce'],
		help: { disable: 'never: every host takes the classic path (migrate VMs, maintenance mode, restart)',
			auto: 'live patch hosts whose update allows it; the others take the classic path',
			enforce: 'live patch only; a host that cannot be live patched fails pre-check' } },
	{ key: 'drs_automation', label: 'DRS automation', kind: 'choice', choices: ['manual', 'partially_automated', 'fully_automated'],
		note: 'Live patch needs fully automated DRS.' },
	{ key: 'parallel_remediation.enabled', label: 'Parallel remediation', kind: 'bool', note: 'Remediate several hosts at once.' },
	{ key: 'parallel_remediation.max_hosts', label: 'Hosts at once (at most)', kind: 'int', min: 1 },
	{ key: 'failure_action.action', label: 'When a host fails', kind: 'choice', choices: ['fail', 'retry'],
		help: { fail: 'stop the remediation', retry: 'retry the host' } },
	{ key: 'failure_action.retry_count', label: 'Retries', kind: 'int', min: 0 },
	{ key: 'failure_action.retry_delay_s', label: 'Delay between retries (s)', kind: 'int', min: 0 },
	{ key: 'tolerated_failures', label: 'Failed hosts tolerated', kind: 'int', min: 0 },
	{ key: 'power_policy', label: 'VMs that cannot be migrated', kind: 'choice', choices: ['do_not_change', 'power_off', 'suspend'],
		help: { do_not_change: 'leave them as they are (the host is skipped if they block it)', power_off: 'power them off, and on again after', suspend: 'suspend them to disk and resume them after' } },
	{ key: 'live_patch_ineligible', label: 'Host attributes that rule out live patch', kind: 'list' },
	{ key: 'min_acceptance', label: 'Lowest accepted bundle level', kind: 'choice', choices: ['community', 'partner', 'certified'] },
	{ key: 'host_timeout_ms', label: 'Host timeout (ms)', kind: 'int', min: 1 },
];

const getPath = (o, k) => k.split('.').reduce((x, p) => (x && typeof x === 'object' ? x[p] : undefined), o);
function setPath(o, k, v) {
	const ps = k.split('.');
	let x = o;
	for (const p of ps.slice(0, -1)) x = x[p] = x[p] && typeof x[p] === 'object' ? x[p] : {};
	x[ps[ps.length - 1]] = v;
}

export async function render(main, ctx) {
	const { clusters } = await ctx.loadInventory();
	const scope = ctx.route.arg || '';
	const path = scope ? `/clusters/${api.enc(scope)}/settings` : '/settings';
	const [s, global] = await Promise.all([api.get(path), scope ? api.get('/settings') : null]);
	const msg = h('div', { 'aria-live': 'polite' });
	const scopeSel = h('select', { id: 'settings-scope', onchange: () => ctx.go(`#/settings${scopeSel.value ? '/' + api.enc(scopeSel.value) : ''}`) },
		h('option', { value: '', selected: !scope }, 'Global (every cluster)'),
		clusters.map((c) => h('option', { value: c.name, selected: c.name === scope }, `Cluster ${c.name}`)));
	const inputs = {};
	const rows = FIELDS.map((f) => {
		const id = `set-${f.key.replace(/\./g, '-')}`;
		const own = getPath(s.settings, f.key);
		const eff = getPath(s.effective, f.key);
		const inherited = scope ? getPath(global.effective, f.key) : undefined;
		let input;
		if (f.kind === 'choice') input = h('select', { id }, f.choices.map((c) => h('option', { value: c, selected: c === eff }, words(c))));
		else if (f.kind === 'bool') input = h('input', { id, type: 'checkbox', checked: !!eff });
		else if (f.kind === 'int') input = h('input', { id, type: 'number', min: f.min, value: eff ?? '' });
		else input = h('input', { id, type: 'text', value: (eff || []).join(', '), placeholder: 'comma separated' });
		const over = scope ? h('input', { type: 'checkbox', id: `${id}-over`, checked: own !== undefined,
			onchange: () => { input.disabled = !over.checked; } }) : null;
		if (over) input.disabled = !over.checked;
		inputs[f.key] = { f, input, over };
		const helpText = f.help ? h('ul', { class: 'plain small muted' }, Object.entries(f.help).map(([k, t]) => h('li', {}, h('strong', {}, words(k)), `: ${t}`))) : f.note ? h('p', { class: 'small muted' }, f.note) : null;
		return h('div', { class: 'setting' },
			h('label', { for: id, class: 'setting-label' }, f.label),
			h('div', { class: 'setting-input' }, input,
				over ? h('label', { class: 'check small', for: `${id}-over` }, over, ` override (global: ${f.kind === 'bool' ? (inherited ? 'on' : 'off') : Array.isArray(inherited) ? inherited.join(', ') : words(inherited)})`) : null,
				helpText));
	});
	const read = (x) => {
		const { f, input } = x;
		if (f.kind === 'bool') return input.checked;
		if (f.kind === 'int') return Number(input.value);
		if (f.kind === 'list') return input.value.split(',').map((v) => v.trim()).filter(Boolean);
		return input.value;
	};
	const save = async (e) => {
		e.preventDefault();
		const body = {};
		for (const x of Object.values(inputs)) {
			if (x.over && !x.over.checked) continue;
			if (x.f.kind === 'int' && !Number.isInteger(read(x))) {
				clear(msg, notice('error', `${x.f.label}: a whole number is needed.`));
				return;
			}
			setPath(body, x.f.key, read(x));
		}
		try {
			await api.put(path, body);
			clear(msg, notice('ok', scope ? `Settings of cluster ${scope} saved.` : 'Global settings saved.'));
		} catch (err) {
			clear(msg, notice('error', h('strong', {}, 'Not saved: '), err.message));
		}
	};
	clear(main,
		h('header', { class: 'view-head' }, h('div', {}, h('p', { class: 'crumb' }, 'Administration'), h('h1', {}, 'Settings'))),
		h('div', { class: 'form-grid narrow' }, h('label', { for: 'settings-scope' }, 'Settings of'), scopeSel),
		section(scope ? `Cluster ${scope}` : 'Global settings',
			scope ? h('p', { class: 'muted' }, 'A cluster uses the global value of each setting unless it overrides it.') : h('p', { class: 'muted' }, 'Every cluster uses these unless it overrides them. Changing them needs the admin role.'),
			h('form', { id: 'settings-form', onsubmit: save }, rows, msg,
				h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save settings')))));
}
