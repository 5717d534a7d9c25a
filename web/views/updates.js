// updates.js — a cluster's Updates view (Lifecycle Manager): the image the
// cluster should run and its editor, compliance per host with impact,
// reasons and the action remediation would take, and the lifecycle
// operations: check compliance, pre-check, stage, remediate (confirmed).
//
// Each operation is a task on the center; the view follows it with a
// progress bar and shows its result as tables. Pre-check, stage and
// remediate belong to the lifecycle engine; a center without it answers
// "no endpoint", which is shown as "not available on this server".
import { h, clear, badge, impactBadge, table, section, notice, words, time, clock, progress, resultView, livePatchTag, value } from '../dom.js';
import * as api from '../api.js';

const OPS = {
	compliance: { label: 'Check compliance', path: 'compliance', noun: 'Compliance check' },
	precheck: { label: 'Pre-check', path: 'precheck', noun: 'Pre-check' },
	stage: { label: 'Stage', path: 'stage', noun: 'Staging' },
	remediate: { label: 'Remediate', path: 'remediate', noun: 'Remediation' },
};
const LIFECYCLE_TYPES = /^(compliance\.check|precheck|pre_check|stage|remediat|cluster\.(precheck|stage|remediate))/;

export async function render(main, ctx) {
	const name = ctx.route.cluster;
	const C = `/clusters/${api.enc(name)}`;
	const imagePanel = h('div', {});
	const editorPanel = h('div', {});
	const opPanel = h('div', { id: 'operation', 'aria-live': 'polite' });
	const compPanel = h('div', {});
	const buttons = {};
	let depot = null, settings = null, tracking = null, closed = false, timers = [];
	let state = { images: [], compliance: [], hosts: [], vms: [] };

	for (const [k, op] of Object.entries(OPS)) {
		buttons[k] = h('button', { type: 'button', class: k === 'remediate' ? 'btn btn-primary' : 'btn', id: `op-${k}`,
			onclick: () => start(k) }, op.label);
	}
	const cancelBtn = h('button', { type: 'button', class: 'btn btn-danger-quiet', id: 'op-cancel', hidden: true, onclick: cancel }, 'Cancel remediation');

	const cluster = await api.get(C);
	clear(main,
		h('header', { class: 'view-head' },
			h('div', {}, h('p', { class: 'crumb' }, 'Cluster'), h('h1', {}, `${cluster.name} — Updates`)),
			h('nav', { class: 'tabs', 'aria-label': 'Cluster views' },
				h('a', { href: `#/cluster/${api.enc(name)}` }, 'Summary'),
				h('a', { href: `#/cluster/${api.enc(name)}/updates`, 'aria-current': 'page' }, 'Updates'))),
		section('Image', imagePanel, editorPanel),
		h('section', { class: 'panel', 'aria-label': 'Compliance' },
			h('div', { class: 'panel-head' }, h('h2', {}, 'Compliance'),
				h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Lifecycle operations' },
					buttons.compliance, buttons.precheck, buttons.stage, buttons.remediate, cancelBtn)),
			opPanel, compPanel));

	async function load() {
		const [imgs, comp, inv, s] = await Promise.all([
			api.get(`${C}/images`), api.get(`${C}/compliance`), ctx.loadInventory(), api.get(`${C}/settings`)]);
		settings = s.effective || {};
		state = {
			images: imgs.images,
			compliance: comp.hosts,
			hosts: inv.hosts.filter((x) => x.cluster_id === cluster.id),
			vms: inv.vms.filter((v) => v.cluster_id === cluster.id),
		};
		drawImage();
		drawCompliance();
	}

	async function loadDepot() {
		const [b, a, c] = await Promise.all([api.get('/depot/base-images'), api.get('/depot/addons'), api.get('/depot/components')]);
		depot = { bases: b.base_images, addons: a.addons, components: c.components };
		return depot;
	}

	// ---- the image ----
	function drawImage() {
		const imgs = state.images;
		if (!imgs.length) {
			clear(imagePanel, notice('info', 'No image is set for this cluster: choose the base image its hosts should run.'),
				h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'btn btn-primary', id: 'image-edit', onclick: openEditor }, 'Set image')));
			return;
		}
		const baseInfo = (v) => depot && depot.bases.find((b) => b.version === v);
		clear(imagePanel, imgs.map((img) => {
			const d = img.definition || {};
			const add = Object.entries(d.components?.add || {});
			const rem = d.components?.remove || [];
			const bi = baseInfo(d.base);
			return h('div', { class: 'image-card', dataset: { image: img.name } },
				h('dl', { class: 'facts' },
					imgs.length > 1 ? [h('dt', {}, 'Image'), h('dd', {}, img.name)] : null,
					h('dt', {}, 'Base image'), h('dd', { id: imgs.length === 1 ? 'image-base' : undefined }, h('strong', {}, d.base),
						bi && bi.live_patchable ? [' ', livePatchTag(bi.live_patch_from)] : null),
					h('dt', {}, 'Add-on'), h('dd', {}, d.addon ? `${d.addon.name} ${d.addon.version}` : 'none'),
					h('dt', {}, 'Components'), h('dd', {}, add.length || rem.length
						? h('ul', { class: 'plain' }, add.map(([n, v]) => h('li', {}, `${n} ${v} (override)`)),
							rem.map((n) => h('li', {}, `${n} removed`)))
						: 'as in the base image'),
					img.selector ? [h('dt', {}, 'Hosts'), h('dd', {}, value(img.selector))] : null,
					h('dt', {}, 'Changed'), h('dd', {}, time(img.updated)),
					h('dt', {}, 'Definition SHA-256'), h('dd', {}, h('code', { title: img.digest }, (img.digest || '').slice(0, 16)))));
		}), h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'btn', id: 'image-edit', onclick: openEditor }, 'Edit image')),
		imgs.length > 1 ? h('p', { class: 'muted small' }, 'This cluster has several images chosen by host selectors; saving in the editor replaces them with one image for every host.') : null);
	}

	async function openEditor() {
		await loadDepot();
		drawImage();
		const editBtn = imagePanel.querySelector('#image-edit');
		if (editBtn) editBtn.hidden = true;
		const cur = state.images[0]?.definition || {};
		if (!depot.bases.length) {
			clear(editorPanel, notice('warn', 'The depot holds no base image yet. ', h('a', { href: '#/depot' }, 'Import a bundle'), ' first.'));
			return;
		}
		const msg = h('div', { 'aria-live': 'polite' });
		const base = h('select', { id: 'edit-base', name: 'base' }, depot.bases.map((b) =>
			h('option', { value: b.version, selected: b.version === cur.base },
				`${b.version}${b.live_patchable ? ` — live patch from ${(b.live_patch_from || []).join(', ')}` : ''}`)));
		const addon = h('select', { id: 'edit-addon', name: 'addon' }, h('option', { value: '' }, 'None'),
			depot.addons.map((a) => h('option', { value: `${a.name}\u0000${a.version}`,
				selected: cur.addon && cur.addon.name === a.name && cur.addon.version === a.version }, `${a.name} ${a.version}`)));
		const names = [...new Set(depot.components.map((c) => c.name))].sort();
		const overrides = h('tbody', {});
		const addRow = (n, v) => {
			const vs = h('select', { 'aria-label': 'Component version' });
			const ns = h('select', { 'aria-label': 'Component', onchange: () => fill() }, names.map((x) => h('option', { value: x, selected: x === n }, x)));
			const fill = (want) => clear(vs, depot.components.filter((c) => c.name === ns.value).map((c) =>
				h('option', { value: c.version, selected: c.version === want }, `${c.version}${c.live_patchable ? ' (live patch)' : ''}`)));
			fill(v);
			const tr = h('tr', { class: 'override' }, h('td', {}, ns), h('td', {}, vs),
				h('td', {}, h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => tr.remove() }, 'Remove')));
			overrides.append(tr);
		};
		for (const [n, v] of Object.entries(cur.components?.add || {})) addRow(n, v);
		const removeBox = h('fieldset', { class: 'checks' }, h('legend', {}, 'Remove from the image'));
		const drawRemove = () => {
			const b = depot.bases.find((x) => x.version === base.value);
			const was = new Set([...removeBox.querySelectorAll('input:checked')].map((i) => i.value).concat(cur.components?.remove || []));
			clear(removeBox, h('legend', {}, 'Remove from the image'),
				Object.keys(b?.components || {}).map((n) => h('label', { class: 'check' },
					h('input', { type: 'checkbox', value: n, checked: was.has(n) }), ` ${n}`)));
		};
		base.addEventListener('change', drawRemove);
		drawRemove();
		const definition = () => {
			const add = {};
			for (const tr of overrides.querySelectorAll('tr')) {
				const [ns, vs] = tr.querySelectorAll('select');
				if (ns.value && vs.value) add[ns.value] = vs.value;
			}
			const [an, av] = addon.value ? addon.value.split('\u0000') : [];
			return {
				base: base.value,
				addon: addon.value ? { name: an, version: av } : null,
				components: { add, remove: [...removeBox.querySelectorAll('input:checked')].map((i) => i.value) },
			};
		};
		const validate = async () => {
			try {
				const r = await api.post(`${C}/images/validate`, definition());
				const hs = Object.keys(r.hosts || {});
				clear(msg, notice('ok', `The image is valid${hs.length ? ` and applies to ${hs.join(', ')}` : ''}.`));
			} catch (e) {
				clear(msg, notice('error', h('strong', {}, 'Not valid: '), e.message));
			}
		};
		const save = async (ev) => {
			ev.preventDefault();
			try {
				await api.put(`${C}/image`, definition());
				clear(editorPanel);
				clear(opPanel, notice('ok', `Image saved. Every host is now unknown until compliance is checked again.`));
				await load();
			} catch (e) {
				clear(msg, notice('error', h('strong', {}, 'The image was not saved: '), e.message));
			}
		};
		clear(editorPanel, h('form', { class: 'editor', id: 'image-editor', 'aria-label': 'Image editor', onsubmit: save },
			h('h3', {}, 'Edit image'),
			h('div', { class: 'form-grid' },
				h('label', { for: 'edit-base' }, 'Base image'), base,
				h('label', { for: 'edit-addon' }, 'Add-on'), addon),
			h('h4', {}, 'Component overrides'),
			h('p', { class: 'muted small' }, 'A component version that replaces the base image\'s, or a component the base lacks.'),
			h('table', { class: 'grid compact' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Component'), h('th', { scope: 'col' }, 'Version'), h('th', {}, h('span', { class: 'sr-only' }, 'Actions')))), overrides),
			h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => addRow(names[0]) }, 'Add component override')),
			removeBox,
			msg,
			h('div', { class: 'toolbar' },
				h('button', { type: 'button', class: 'btn', onclick: validate }, 'Validate'),
				h('button', { type: 'submit', class: 'btn btn-primary', id: 'image-save' }, 'Save image'),
				h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => { clear(editorPanel); drawImage(); } }, 'Cancel'))));
		base.focus();
	}

	// ---- compliance ----
	function plan(c) {
		const host = state.hosts.find((x) => x.id === c.host_id);
		const running = state.vms.filter((v) => v.host_id === c.host_id && v.state === 'running').map((v) => v.name);
		const d = c.details || {};
		const live = settings.live_patch || 'auto';
		if (!c.status || c.status === 'unknown') return { kind: 'unknown', label: 'unknown', text: 'Check compliance to see what remediation would do.' };
		if (c.status === 'compliant') return { kind: 'none', label: 'nothing to do', text: 'The host runs its image.' };
		if (c.status === 'incompatible') {
			return { kind: 'blocked', label: 'cannot remediate', text: (c.reasons || [])[0]?.message || 'The image cannot be applied to this host.' };
		}
		const changes = (d.changes || []).map((x) => `${x.component} ${x.from || 'none'} → ${x.to || 'removed'}`).join(', ');
		if (c.impact === 'none') return { kind: 'none', label: 'apply in place', text: `Apply ${changes || 'the image'}; no VM is touched.` };
		if (c.impact === 'partial_maintenance_mode' && live !== 'disable') {
			const fsr = d.fsr_vms || [];
			return { kind: 'live', label: 'live patch via FSR',
				text: `Partial maintenance mode, apply ${changes}, then ${fsr.length ? `fast suspend-resume of ${fsr.join(', ')} onto the new vmx` : 'no VM to move'}. VMs keep running.` };
		}
		const blocking = (d.blocking_vms || []).map((b) => b.vm || b.name || value(b));
		const moving = running.filter((n) => !blocking.includes(n));
		const why = c.impact === 'partial_maintenance_mode' ? ' (live patch is disabled by the settings)' : '';
		return { kind: 'classic', label: c.reboot ? 'migrate + restart' : 'migrate + apply',
			text: `${moving.length ? `Migrate ${moving.join(', ')} to other hosts` : 'No running VM to migrate'}, maintenance mode, apply ${changes || 'the image'}${c.reboot ? ', restart the host' : ''}${why}.`
				+ (blocking.length ? ` Cannot move: ${blocking.join(', ')} (power policy: ${words(settings.power_policy)}).` : '')
				+ (host && host.maintenance_mode !== 'none' ? ` The host is already in ${words(host.maintenance_mode)} maintenance.` : '') };
	}

	function drawCompliance() {
		const rows = state.hosts.map((x) => state.compliance.find((c) => c.host_id === x.id) || { host_id: x.id, host: x.name, status: x.compliance || 'unknown' });
		const counts = {};
		for (const r of rows) counts[r.status] = (counts[r.status] || 0) + 1;
		const summary = h('div', { class: 'badges compliance-summary' },
			['compliant', 'non_compliant', 'incompatible', 'unknown'].filter((s) => counts[s]).map((s) =>
				badge(s, `${counts[s]} ${s === 'non_compliant' ? 'non-compliant' : s}`)));
		clear(compPanel,
			rows.length ? summary : null,
			table([
				{ label: 'Host', cell: (c) => h('a', { href: `#/host/${api.enc(c.host)}` }, c.host) },
				{ label: 'Status', cell: (c) => badge(c.status || 'unknown') },
				{ label: 'Impact', cell: (c) => c.status && c.status !== 'unknown' ? impactBadge(c.impact, c.reboot) : '—' },
				{ label: 'Planned action', class: 'col-plan', cell: (c) => {
					const p = plan(c);
					return h('div', { class: 'plan' }, h('span', { class: `plan-kind plan-${p.kind}` }, p.label), h('div', { class: 'small' }, p.text));
				} },
				{ label: 'Reasons', class: 'col-reasons', cell: (c) => c.reasons && c.reasons.length
					? h('ul', { class: 'reasons' }, c.reasons.map((r) => h('li', { dataset: { code: r.code } }, r.message.replace(/ -> /g, ' → '))))
					: (c.status === 'compliant' ? 'none' : '—') },
				{ label: 'Checked', class: 'nowrap', cell: (c) => c.checked ? h('span', { title: time(c.checked) }, clock(c.checked).slice(0, 8)) : 'never' },
			], rows, { label: 'Compliance per host', class: 'compliance', key: (c) => c.host, empty: 'No host in this cluster.' }));
	}

	// ---- operations ----
	function setBusy(busy, kind) {
		for (const b of Object.values(buttons)) b.disabled = busy;
		cancelBtn.hidden = !(busy && kind === 'remediate');
	}

	async function start(kind) {
		const op = OPS[kind];
		if (kind === 'remediate' && !(await confirmRemediate())) return;
		setBusy(true, kind);
		clear(opPanel, h('p', { class: 'small' }, `${op.noun}: starting…`));
		try {
			const r = await api.post(`${C}/${op.path}`);
			if (r && r.task) track(r.task, kind);
			else { setBusy(false); clear(opPanel, notice('ok', `${op.noun} done.`)); await load(); }
		} catch (e) {
			setBusy(false);
			if (e.missing) {
				clear(opPanel, notice('warn', h('strong', {}, `${op.label} is not available on this server. `),
					`This seam-center has no ${op.noun.toLowerCase()} endpoint yet (its lifecycle engine is not part of this version). Nothing was changed.`));
			} else {
				clear(opPanel, notice('error', h('strong', {}, `${op.noun} could not start: `), e.message));
			}
		}
	}

	function track(task, kind) {
		const op = OPS[kind] || { noun: words(task.type) };
		tracking = task.id;
		setBusy(true, kind);
		const draw = (t) => {
			const done = ['success', 'error', 'cancelled'].includes(t.status);
			clear(opPanel, h('div', { class: 'operation', dataset: { task: t.id, status: t.status } },
				h('div', { class: 'operation-head' }, h('strong', {}, `${op.noun} (task ${t.id})`), badge(t.status), h('span', { class: 'muted small' }, `started ${time(t.started || t.created)}`)),
				progress(t.progress, `${op.noun} progress`, t.status),
				t.error ? notice('error', t.error) : null,
				t.result && kind !== 'compliance' ? resultView(t.result) : null,
				done && kind === 'compliance' && t.status === 'success' ? h('p', { class: 'small' }, `Checked ${t.result?.hosts ?? ''} host(s).`) : null));
			return done;
		};
		const poll = async () => {
			if (closed || tracking !== task.id) return;
			try {
				const t = await api.get(`/tasks/${task.id}`);
				if (draw(t)) {
					tracking = null;
					setBusy(false);
					await load();
					return;
				}
			} catch { /* retry */ }
			timers.push(setTimeout(poll, 400));
		};
		draw(task);
		poll();
	}

	async function cancel() {
		try {
			await api.post(`${C}/cancel`);
			opPanel.prepend(notice('info', 'Cancel requested: the remediation stops after its current step.'));
		} catch (e) {
			opPanel.prepend(notice(e.missing ? 'warn' : 'error', e.missing ? 'Cancel is not available on this server.' : `Cancel failed: ${e.message}`));
		}
	}

	function confirmRemediate() {
		return new Promise((resolve) => {
			const rows = state.hosts.map((x) => state.compliance.find((c) => c.host_id === x.id) || { host: x.name, status: 'unknown' });
			const img = state.images[0]?.definition?.base;
			const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title' },
				h('h2', { id: 'confirm-title' }, `Remediate ${name}?`),
				h('p', {}, img ? `Every host of ${name} is brought to image ${img}, ${settings.parallel_remediation?.enabled ? `up to ${settings.parallel_remediation.max_hosts} hosts at a time` : 'one host at a time'}, as planned below.` : 'The cluster has no image.'),
				h('ul', { class: 'plain confirm-plan' }, rows.map((c) => {
					const p = plan(c);
					return h('li', {}, h('strong', {}, c.host), ' — ', h('span', { class: `plan-kind plan-${p.kind}` }, p.label));
				})),
				h('p', { class: 'muted small' }, `Live patch setting: ${words(settings.live_patch)}; parallel remediation: ${settings.parallel_remediation?.enabled ? `up to ${settings.parallel_remediation.max_hosts} hosts` : 'off'}.`),
				h('form', { method: 'dialog', class: 'toolbar' },
					h('button', { value: 'cancel', class: 'btn' }, 'Cancel'),
					h('button', { value: 'ok', class: 'btn btn-primary', id: 'confirm-remediate' }, 'Remediate')));
			document.body.append(dlg);
			dlg.addEventListener('close', () => { resolve(dlg.returnValue === 'ok'); dlg.remove(); });
			dlg.showModal();
		});
	}

	await Promise.all([load(), loadDepot().then(drawImage).catch(() => {})]);
	// A lifecycle task already running on this cluster: follow it.
	try {
		const running = await api.get('/tasks?status=running&limit=50');
		const t = running.tasks.find((x) => x.target_name === name && LIFECYCLE_TYPES.test(x.type));
		if (t) track(t, Object.keys(OPS).find((k) => t.type.includes(k === 'compliance' ? 'compliance' : k)) || 'compliance');
	} catch { /* no task list */ }

	let t = null;
	ctx.onEvent((ev) => {
		if (ev.cluster !== name || t) return;
		if (/^(compliance|image|host|vm)/.test(ev.type)) t = setTimeout(() => { t = null; if (!ctx.stale() && !tracking) load().catch(() => {}); }, 500);
	});
	return () => { closed = true; clearTimeout(t); timers.forEach(clearTimeout); };
}
