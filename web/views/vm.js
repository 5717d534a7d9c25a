// vm.js — one VM: where it runs, its power state and the vmx version its
// process runs (what a live patch changes), with power controls.
import { h, clear, badge, section, facts, notice, time } from '../dom.js';
import * as api from '../api.js';

export async function render(main, ctx) {
	const { host, vm } = ctx.route;
	let t = null;
	const draw = async (msg) => {
		const v = await api.get(`/vms/${api.enc(vm)}?host=${api.enc(host)}`);
		const act = async (what, body) => {
			try {
				await api.post(`/vms/${api.enc(vm)}/${what}?host=${api.enc(host)}`, body);
				await draw(notice('ok', what === 'power-on' ? 'Powered on.' : 'Powered off.'));
				ctx.loadInventory().catch(() => {});
			} catch (e) {
				await draw(notice('error', `Could not ${what === 'power-on' ? 'power on' : 'power off'} ${vm}: ${e.message}`));
			}
		};
		clear(main,
			h('header', { class: 'view-head' },
				h('div', {}, h('p', { class: 'crumb' }, h('a', { href: `#/host/${api.enc(host)}` }, host), ' › Virtual machine'),
					h('h1', {}, v.name)),
				h('div', { class: 'badges head-badges' }, badge(v.state),
					v.vmx_version ? h('span', { class: 'tag' }, `vmx ${v.vmx_version}`) : null)),
			msg || null,
			h('div', { class: 'toolbar' },
				h('button', { type: 'button', class: 'btn', disabled: v.state === 'running', onclick: () => act('power-on') }, 'Power on'),
				h('button', { type: 'button', class: 'btn', disabled: v.state !== 'running', onclick: () => act('power-off', {}) }, 'Power off'),
				h('button', { type: 'button', class: 'btn btn-danger-quiet', disabled: v.state !== 'running', onclick: () => act('power-off', { force: true }) }, 'Force power off')),
			section('Summary', facts([
				['Power state', badge(v.state)],
				['Host', h('a', { href: `#/host/${api.enc(host)}` }, host)],
				['Cluster', v.cluster ? h('a', { href: `#/cluster/${api.enc(v.cluster)}` }, v.cluster) : '—'],
				['vmx version', v.vmx_version || 'not running'],
				['Memory', `${v.mem_mib} MiB`],
				['vCPUs', String(v.vcpus)],
				['Passthrough device', v.passthrough ? 'yes — cannot be live patched by FSR nor migrated' : 'no'],
				['Fault tolerance', v.fault_tolerance],
				['Pod VM', v.pod],
				['Kernel command line', v.cmdline ? h('code', {}, v.cmdline) : '—'],
				['Created', time(v.created)],
				['Started', time(v.started)],
				['Process', v.pid ? String(v.pid) : '—'],
			])));
	};
	await draw();
	ctx.onEvent((ev) => {
		if (ev.vm === vm && !t) t = setTimeout(() => { t = null; if (!ctx.stale()) draw().catch(() => {}); }, 500);
	});
	return () => clearTimeout(t);
}
