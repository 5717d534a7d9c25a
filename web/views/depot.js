// depot.js — Lifecycle Manager → Depot: what the center can install
// (base images, add-ons, components, with the live-patch tag on the
// releases that can be live patched), the bundles they came from, the keys
// trusted to sign them, and importing a bundle by upload with progress.
import { h, clear, badge, table, section, notice, time, bytes, short, progress, livePatchTag } from '../dom.js';
import * as api from '../api.js';

export async function render(main, ctx) {
	const status = h('div', { class: 'import-status', 'aria-live': 'polite' });
	const file = h('input', { type: 'file', id: 'bundle-file', name: 'bundle', accept: '.zip,application/zip' });
	const btn = h('button', { type: 'submit', class: 'btn btn-primary', id: 'bundle-import' }, 'Import');
	const form = h('form', { class: 'import-form', onsubmit: (e) => { e.preventDefault(); doImport(); } },
		h('label', { for: 'bundle-file' }, 'Bundle file (.zip)'), file, btn);
	const lists = h('div', {});
	clear(main,
		h('header', { class: 'view-head' }, h('div', {}, h('p', { class: 'crumb' }, 'Lifecycle Manager'), h('h1', {}, 'Depot'))),
		section('Import a bundle',
			h('p', { class: 'muted' }, 'A bundle is verified whole — archive, digests, manifest and signature against the trusted keys — before anything is stored. A refused bundle changes nothing.'),
			form, status),
		lists);

	async function doImport() {
		const f = file.files[0];
		if (!f) {
			clear(status, notice('error', 'Choose a bundle file first.'));
			return;
		}
		btn.disabled = true;
		const bar = h('div', {});
		const label = h('p', { class: 'small' }, `Uploading ${f.name} (${bytes(f.size)})…`);
		clear(status, label, bar);
		clear(bar, progress(0, 'upload progress'));
		try {
			const r = await api.upload('/depot/bundles', f, (p, phase) => {
				clear(bar, progress(p * 100, 'upload progress'));
				if (phase === 'verify') label.textContent = `Uploaded ${f.name}; the center is verifying it…`;
			});
			const a = r.added || {};
			const what = [
				...(a.base_images || []).map((v) => `base image ${v}`),
				...(a.addons || []).map((x) => `add-on ${x.name || x} ${x.version || ''}`.trim()),
				...(a.components || []).map((c) => `${c.name} ${c.version}`),
			];
			clear(status, notice('ok', h('strong', {}, `Imported ${r.bundle?.name || f.name}`),
				what.length ? `: ${what.join(', ')}.` : ': every release in it was already in the depot.'));
			file.value = '';
			await drawLists();
		} catch (e) {
			clear(status, notice('error', h('strong', {}, `${f.name} was not imported. `), e.message));
		} finally {
			btn.disabled = false;
		}
	}

	async function drawLists() {
		const [b, bases, addons, comps, trust] = await Promise.all([
			api.get('/depot/bundles'), api.get('/depot/base-images'), api.get('/depot/addons'),
			api.get('/depot/components'), api.get('/depot/trust').catch(() => ({ keys: [] }))]);
		const lp = (x) => x.live_patchable ? livePatchTag(x.live_patch_from) : null;
		clear(lists,
			section('Base images', table([
				{ label: 'Version', cell: (x) => h('strong', {}, x.version) },
				{ label: 'Tags', cell: (x) => h('span', { class: 'badges' }, lp(x) || '—') },
				{ label: 'Live patch from', cell: (x) => x.live_patch_from && x.live_patch_from.length ? x.live_patch_from.join(', ') : '—' },
				{ label: 'Components', cell: (x) => Object.entries(x.components || {}).map(([n, v]) => `${n} ${v}`).join(', ') },
				{ label: 'Description', cell: (x) => x.description || '—' },
				{ label: 'Imported', cell: (x) => time(x.imported) },
			], bases.base_images, { label: 'Base images', class: 'depot-bases', key: (x) => x.version, empty: 'No base image yet: import a bundle.' })),
			section('Add-ons', table([
				{ label: 'Name', cell: (x) => x.name },
				{ label: 'Version', cell: (x) => x.version },
				{ label: 'For base', cell: (x) => x.base || x.base_version || (x.bases || []).join(', ') || '—' },
				{ label: 'Components', cell: (x) => Object.entries(x.components || {}).map(([n, v]) => `${n} ${v}`).join(', ') || '—' },
				{ label: 'Tags', cell: (x) => lp(x) },
			], addons.addons, { label: 'Add-ons', empty: 'No add-on in the depot.' })),
			section('Components', table([
				{ label: 'Component', cell: (x) => x.name },
				{ label: 'Version', cell: (x) => x.version },
				{ label: 'Tags', cell: (x) => h('span', { class: 'badges' }, lp(x), x.fsr_required ? h('span', { class: 'tag', title: 'running VMs move onto it by fast suspend-resume' }, 'FSR') : null) },
				{ label: 'Acceptance', cell: (x) => x.acceptance },
				{ label: 'Size', cell: (x) => bytes(x.size) },
				{ label: 'Description', cell: (x) => x.description || '—' },
			], comps.components, { label: 'Components', class: 'depot-components', empty: 'No component yet.' })),
			section('Bundles imported', table([
				{ label: 'Bundle', cell: (x) => x.name },
				{ label: 'Acceptance', cell: (x) => badge(x.level, x.level, x.level === 'certified' ? 'ok' : 'info') },
				{ label: 'Signed by key', cell: (x) => h('code', {}, x.signer) },
				{ label: 'SHA-256', cell: (x) => h('code', { title: x.digest }, short(x.digest, 16)) },
				{ label: 'Imported', cell: (x) => time(x.imported) },
			], b.bundles, { label: 'Bundles', empty: 'No bundle imported yet.' })),
			section('Trusted signing keys', table([
				{ label: 'Level', cell: (x) => x.level },
				{ label: 'Name', cell: (x) => x.name },
				{ label: 'Key id', cell: (x) => h('code', {}, x.key_id) },
			], trust.keys, { label: 'Trusted keys', empty: 'No key is trusted: every bundle will be refused until an administrator trusts its signer.' })));
	}
	await drawLists();
	let t = null;
	ctx.onEvent((ev) => {
		if (/^depot\./.test(ev.type) && !t) t = setTimeout(() => { t = null; if (!ctx.stale()) drawLists().catch(() => {}); }, 500);
	});
	return () => clearTimeout(t);
}
