// cluster.js — a cluster's summary: its hosts and VMs, compliance at a
// glance, the image it should run, and the settings it overrides.
import { h, clear, badge, maintBadge, table, section, facts, notice, words, time } from '../dom.js';
import * as api from '../api.js';
import { complianceSummary } from './home.js';

export async function render(main, ctx) {
	const name = ctx.route.cluster;
	let t = null;
	await draw(main, ctx, name);
	ctx.onEvent((ev) => {
		if (ev.cluster === name && /^(host|vm|compliance|image)/.test(ev.type) && !t) {
			t = setTimeout(() => { t = null; if (!ctx.stale()) draw(main, ctx, name).catch(() => {}); }, 600);
		}
	});
	return () => clearTimeout(t);
}

async function draw(main, ctx, name) {
	const [cluster, inv, images, settings] = await Promise.all([
		api.get(`/clusters/${api.enc(name)}`), ctx.loadInventory(),
		api.get(`/clusters/${api.enc(name)}/images`), api.get(`/clusters/${api.enc(name)}/settings`)]);
	const hosts = inv.hosts.filter((x) => x.cluster_id === cluster.id);
	const vms = inv.vms.filter((v) => v.cluster_id === cluster.id);
	const overrides = Object.keys(settings.settings || {});
	const eff = settings.effective || {};
	clear(main,
		h('header', { class: 'view-head' },
			h('div', {}, h('p', { class: 'crumb' }, 'Cluster'), h('h1', {}, cluster.name)),
			h('nav', { class: 'tabs', 'aria-label': 'Cluster views' },
				h('a', { href: `#/cluster/${api.enc(name)}`, 'aria-current': 'page' }, 'Summary'),
				h('a', { href: `#/cluster/${api.enc(name)}/updates` }, 'Updates'))),
		h('div', { class: 'cards' },
			card('Hosts', `${hosts.length}`, `${hosts.filter((x) => x.state === 'connected').length} connected, ${hosts.filter((x) => x.maintenance_mode && x.maintenance_mode !== 'none').length} in maintenance`),
			card('Virtual machines', `${vms.length}`, `${vms.filter((v) => v.state === 'running').length} running`),
			card('Image', images.images.length ? images.images.map((i) => i.definition.base).join(', ') : 'not set',
				images.images.length ? `${images.images.length} image${images.images.length > 1 ? 's' : ''}` : 'set it in Updates'),
			card('Compliance', complianceSummary(hosts), h('a', { href: `#/cluster/${api.enc(name)}/updates` }, 'Check in Updates'))),
		section('Hosts', table([
			{ label: 'Host', cell: (x) => h('a', { href: `#/host/${api.enc(x.name)}` }, x.name) },
			{ label: 'Connection', cell: (x) => badge(x.state) },
			{ label: 'Maintenance', cell: (x) => maintBadge(x.maintenance_mode) || 'none' },
			{ label: 'Base image', cell: (x) => x.base_image || '—' },
			{ label: 'Compliance', cell: (x) => badge(x.compliance || 'unknown') },
			{ label: 'VMs', cell: (x) => `${vms.filter((v) => v.host_id === x.id && v.state === 'running').length} running of ${vms.filter((v) => v.host_id === x.id).length}` },
			{ label: 'Address', cell: (x) => h('code', {}, x.address) },
		], hosts, { label: 'Hosts of the cluster', empty: 'No host in this cluster yet.' })),
		section('Virtual machines', table([
			{ label: 'VM', cell: (v) => h('a', { href: `#/vm/${api.enc(v.host)}/${api.enc(v.name)}` }, v.name) },
			{ label: 'Power', cell: (v) => badge(v.state) },
			{ label: 'Host', cell: (v) => v.host },
			{ label: 'vmx version', cell: (v) => v.vmx_version || '—' },
			{ label: 'Memory', cell: (v) => `${v.mem_mib} MiB` },
			{ label: 'vCPUs', cell: (v) => String(v.vcpus) },
		], vms, { label: 'VMs of the cluster', empty: 'No VM in this cluster.' })),
		section('Settings', overrides.length
			? h('p', {}, `This cluster overrides: ${overrides.map(words).join(', ')}.`)
			: h('p', { class: 'muted' }, 'This cluster uses the global settings.'),
		facts([
			['Live patch', words(eff.live_patch)],
			['DRS automation', words(eff.drs_automation)],
			['Parallel remediation', eff.parallel_remediation?.enabled ? `on, up to ${eff.parallel_remediation.max_hosts} hosts` : 'off'],
			['Power policy', words(eff.power_policy)],
		]), h('p', {}, h('a', { href: `#/settings/${api.enc(name)}` }, 'Change the cluster\'s settings'))),
		h('p', { class: 'muted small' }, `Created ${time(cluster.created)}`));
}

function card(title, big, small) {
	return h('div', { class: 'card' }, h('h3', {}, title), h('div', { class: 'card-big' }, big), h('div', { class: 'card-small' }, small));
}
