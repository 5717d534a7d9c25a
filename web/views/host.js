// host.js — one host: connection and maintenance state, what it runs
// (components with the active and staged revisions), its attributes, its
// VMs, and its last compliance result.
import { h, clear, badge, maintBadge, impactBadge, table, section, facts, notice, words, time, value } from '../dom.js';
import * as api from '../api.js';

export async function render(main, ctx) {
	const name = ctx.route.host;
	let t = null;
	await draw(main, ctx, name);
	ctx.onEvent((ev) => {
		if (ev.host === name && !t) {
			t = setTimeout(() => { t = null; if (!ctx.stale()) draw(main, ctx, name).catch(() => {}); }, 600);
		}
	});
	return () => clearTimeout(t);
}

async function draw(main, ctx, name) {
	const host = await api.get(`/hosts/${api.enc(name)}`);
	let comp = null;
	try { comp = await api.get(`/hosts/${api.enc(name)}/compliance`); } catch { /* never checked */ }
	const inv = host.inventory || {};
	const hw = inv.host || {};
	const vms = inv.vms || [];
	const KNOWN = new Set(['cpu_model', 'cores', 'memory_mib', 'kernel', 'kvm', 'cpu_virtualization', 'tpm', 'dpu', 'overridden', 'arch', 'hostname']);
	const attrs = Object.fromEntries(Object.entries(hw).filter(([k]) => !KNOWN.has(k)));
	const msg = h('div', { 'aria-live': 'polite' });
	const mode = host.maintenance_mode || 'none';
	const setMode = async (m) => {
		try {
			await api.put(`/hosts/${api.enc(name)}/maintenance`, { mode: m });
			await draw(main, ctx, name);
			ctx.loadInventory().catch(() => {});
		} catch (e) {
			clear(msg, notice('error', h('strong', {}, 'The maintenance mode was not changed: '), e.message));
		}
	};
	clear(main,
		h('header', { class: 'view-head' },
			h('div', {}, h('p', { class: 'crumb' }, h('a', { href: `#/cluster/${api.enc(host.cluster)}` }, host.cluster), ' › Host'),
				h('h1', {}, host.name)),
			h('div', { class: 'badges head-badges' }, badge(host.state),
				maintBadge(host.maintenance_mode) || badge('none', 'not in maintenance', 'ok'),
				badge(host.compliance || 'unknown', (host.compliance || 'unknown') === 'unknown' ? 'compliance unknown' : undefined))),
		h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Maintenance' },
			h('button', { type: 'button', class: 'btn', disabled: mode === 'partial', onclick: () => setMode('partial') }, 'Enter partial maintenance'),
			h('button', { type: 'button', class: 'btn', disabled: mode === 'full', onclick: () => setMode('full') }, 'Enter maintenance mode'),
			h('button', { type: 'button', class: 'btn', disabled: mode === 'none', onclick: () => setMode('none') }, 'Exit maintenance')),
		msg,
		host.state !== 'connected' ? notice('error', `The center cannot reach this host: ${host.state_error || 'no answer'}. Its inventory below is from ${time(host.inventory_time)}.`) : null,
		h('div', { class: 'two-col' },
			section('Summary', facts([
				['Address', h('code', {}, host.address)],
				['Cluster', h('a', { href: `#/cluster/${api.enc(host.cluster)}` }, host.cluster)],
				['hostd version', host.version],
				['Base image', inv.image?.base?.version || host.base_image],
				['Add-on', inv.image?.addon ? `${inv.image.addon.name} ${inv.image.addon.version}` : 'none'],
				['Connection', badge(host.state)],
				['Since', time(host.state_changed)],
				['Inventory read', time(host.inventory_time)],
				['Certificate (pinned SHA-256)', h('code', { class: 'wrap' }, host.thumbprint)],
			])),
			section('Hardware and attributes', facts([
				['Host name', hw.hostname],
				['CPU', hw.cpu_model ? `${hw.cpu_model}, ${hw.cores} cores (${hw.arch || 'x86_64'})` : '—'],
				['Memory', hw.memory_mib ? `${hw.memory_mib} MiB` : '—'],
				['Kernel', hw.kernel],
				['KVM', hw.kvm ? (hw.kvm.present ? 'present' : 'not present') : '—'],
				['Virtualization', hw.cpu_virtualization],
				['TPM', hw.tpm],
				['DPU', hw.dpu],
				['Overridden by configuration', hw.overridden && hw.overridden.length ? hw.overridden.join(', ') : 'nothing'],
				...Object.entries(attrs).map(([k, v]) => [words(k), value(v)]),
			]))),
		section('Components', table([
			{ label: 'Component', cell: (c) => c.name },
			{ label: 'Active', cell: (c) => c.active || '—' },
			{ label: 'Staged', cell: (c) => c.staged && c.staged.length ? h('span', { class: 'badges' }, c.staged.map((s) => badge('staged', `staged ${typeof s === 'string' ? s : s.version || value(s)}`, 'info'))) : 'nothing staged' },
			{ label: 'Previous', cell: (c) => c.previous || '—' },
			{ label: 'Revisions on disk', cell: (c) => (c.revisions || []).join(', ') },
		], inv.components || [], { label: 'Components', empty: 'The host reported no component.' })),
		section('Virtual machines', table([
			{ label: 'VM', cell: (v) => h('a', { href: `#/vm/${api.enc(name)}/${api.enc(v.name)}` }, v.name) },
			{ label: 'Power', cell: (v) => badge(v.state) },
			{ label: 'vmx version', cell: (v) => v.vmx_version || '—' },
			{ label: 'Memory', cell: (v) => `${v.mem_mib} MiB` },
			{ label: 'vCPUs', cell: (v) => String(v.vcpus) },
			{ label: 'Live patch', cell: (v) => v.passthrough ? badge('blocked', 'passthrough: no FSR', 'warn') : v.fault_tolerance ? badge('ft', 'fault tolerance', 'warn') : 'eligible' },
		], vms, { label: 'VMs of the host', empty: 'No VM on this host.' })),
		section('Compliance', comp && comp.status ? [
			h('div', { class: 'badges' }, badge(comp.status), comp.status !== 'unknown' ? impactBadge(comp.impact, comp.reboot) : null,
				h('span', { class: 'muted small' }, ` checked ${time(comp.checked)}`)),
			comp.reasons && comp.reasons.length ? h('ul', { class: 'reasons' }, comp.reasons.map((r) => h('li', {}, r.message))) : null,
		] : h('p', { class: 'muted' }, 'Not checked yet. Check compliance from the cluster\'s Updates view.')));
}
