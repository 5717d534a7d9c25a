// home.js — the landing view: every cluster at a glance, or how to start.
import { h, clear, badge, table, section, notice } from '../dom.js';
import { enc } from '../api.js';

export async function render(main, ctx) {
	const { clusters, hosts, vms } = await ctx.loadInventory();
	const rows = clusters.map((c) => {
		const hs = hosts.filter((x) => x.cluster_id === c.id);
		return { c, hs, vms: vms.filter((v) => v.cluster_id === c.id) };
	});
	clear(main,
		h('header', { class: 'view-head' }, h('div', {}, h('p', { class: 'crumb' }, 'Inventory'), h('h1', {}, 'Overview'))),
		clusters.length === 0
			? notice('info', 'This center has no cluster yet. Create one and add hosts with seamctl or the API; they appear here as soon as they are added.')
			: section('Clusters', table([
				{ label: 'Cluster', cell: (r) => h('a', { href: `#/cluster/${enc(r.c.name)}` }, r.c.name) },
				{ label: 'Hosts', cell: (r) => `${r.hs.filter((x) => x.state === 'connected').length} of ${r.hs.length} connected` },
				{ label: 'VMs', cell: (r) => `${r.vms.filter((v) => v.state === 'running').length} running of ${r.vms.length}` },
				{ label: 'Compliance', cell: (r) => complianceSummary(r.hs) },
				{ label: 'Updates', cell: (r) => h('a', { href: `#/cluster/${enc(r.c.name)}/updates` }, 'Open updates') },
			], rows, { label: 'Clusters' })));
}

export function complianceSummary(hs) {
	const counts = {};
	for (const x of hs) counts[x.compliance || 'unknown'] = (counts[x.compliance || 'unknown'] || 0) + 1;
	const order = ['compliant', 'non_compliant', 'incompatible', 'unknown'];
	const parts = order.filter((s) => counts[s]).map((s) => badge(s, `${counts[s]} ${s === 'non_compliant' ? 'non-compliant' : s}`));
	return parts.length ? h('span', { class: 'badges' }, parts) : '—';
}
