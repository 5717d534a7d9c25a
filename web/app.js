// app.js — the web client of seam-center: sign-in, the inventory tree,
// routing between views, and the live event stream every view can listen
// to.
//
// The page is one document; views are modules under views/ that fill
// <main> for a route (#/cluster/NAME, #/host/NAME, #/depot, ...). A view
// gets a context with the inventory last read, a way to reload it, and a
// subscription to the event stream that ends when the view is left. The
// inventory is read again when an event says it changed (a host, VM,
// cluster or compliance event), at most a few times a second.
import * as api from './api.js';
import { h, clear, badge, maintBadge, words, notice } from './dom.js';

const views = {
	cluster: () => import('./views/cluster.js'),
	updates: () => import('./views/updates.js'),
	host: () => import('./views/host.js'),
	vm: () => import('./views/vm.js'),
	depot: () => import('./views/depot.js'),
	settings: () => import('./views/settings.js'),
	tasks: () => import('./views/tasks.js'),
	events: () => import('./views/events.js'),
	home: () => import('./views/home.js'),
};

const $ = (id) => document.getElementById(id);

// ---- state shared by the views ----
export const store = {
	me: null,
	inventory: { clusters: [], hosts: [], vms: [] },
	events: [],          // newest last, at most EVENT_KEEP
	eventCursor: 0,
};
const EVENT_KEEP = 1000;
const listeners = new Set();
let stopStream = null, expanded = new Set(), viewCleanup = null, viewListeners = [];
let invTimer = null, invLoading = null;

// ---- sign-in ----
function showSignin(message) {
	$('app').hidden = true;
	$('signin').hidden = false;
	$('signin-error').textContent = message || '';
	$('signin-token').value = '';
	$('signin-token').focus();
}

async function signIn(tok) {
	const me = await api.get('/me', { token: tok });
	api.token.set(tok);
	store.me = me;
	await start();
}

function signOut(message) {
	if (stopStream) stopStream();
	stopStream = null;
	api.token.clear();
	store.me = null;
	store.events = [];
	if (viewCleanup) viewCleanup();
	viewCleanup = null;
	clear($('main'));
	showSignin(message);
}

// ---- inventory ----
export async function loadInventory() {
	if (invLoading) return invLoading;
	invLoading = (async () => {
		const [c, ho, v] = await Promise.all([api.get('/clusters'), api.get('/hosts'), api.get('/vms')]);
		store.inventory = { clusters: c.clusters, hosts: ho.hosts, vms: v.vms };
		renderTree();
		return store.inventory;
	})().finally(() => { invLoading = null; });
	return invLoading;
}

function scheduleInventory() {
	if (invTimer) return;
	invTimer = setTimeout(() => {
		invTimer = null;
		loadInventory().catch(() => {});
	}, 300);
}

function treeItem(key, level, label, href, children, extra) {
	const open = expanded.has(key) || !expanded.has('!' + key);
	const hasKids = children && children.length > 0;
	const li = h('li', { class: 'tree-item', dataset: { key, level } },
	h('div', { class: 'tree-row' },
		hasKids ? h('button', { type: 'button', class: 'tree-toggle', 'aria-expanded': String(open), 'aria-label': `${open ? 'Collapse' : 'Expand'} ${label}`,
			onclick: () => {
				if (open) { expanded.add('!' + key); expanded.delete(key); } else { expanded.delete('!' + key); expanded.add(key); }
				renderTree();
			} }, open ? '▾' : '▸') : h('span', { class: 'tree-spacer' }),
		h('a', { href, class: 'tree-link', dataset: { href } }, label), extra),
	hasKids && open ? h('ul', {}, children) : null);
	return li;
}

function renderTree() {
	const { clusters, hosts, vms } = store.inventory;
	const tree = $('tree');
	if (!clusters.length) {
		clear(tree, h('p', { class: 'empty small' }, 'No clusters yet.'));
		return;
	}
	clear(tree, h('ul', { class: 'tree-root' }, clusters.map((c) =>
		treeItem(`c:${c.name}`, 1, c.name, `#/cluster/${api.enc(c.name)}`,
			hosts.filter((x) => x.cluster_id === c.id).map((x) =>
				treeItem(`h:${x.name}`, 2, x.name, `#/host/${api.enc(x.name)}`,
					vms.filter((v) => v.host_id === x.id).map((v) =>
						treeItem(`v:${x.name}/${v.name}`, 3, v.name, `#/vm/${api.enc(x.name)}/${api.enc(v.name)}`, null,
							h('span', { class: 'tree-badges' },
								badge(v.state, v.state === 'running' ? 'on' : words(v.state)),
								v.vmx_version ? h('span', { class: 'vmx', title: `runs vmx ${v.vmx_version}` }, `vmx ${v.vmx_version}`) : null))),
					h('span', { class: 'tree-badges' },
						maintBadge(x.maintenance_mode),
						x.state !== 'connected' ? badge(x.state)
							: h('span', { class: 'dot tone-ok', role: 'img', 'aria-label': 'connected', title: 'connected', dataset: { state: 'connected' } })))),
			h('span', { class: 'tree-badges' }, h('span', { class: 'muted small' }, `${c.hosts} host${c.hosts === 1 ? '' : 's'}`))))));
	markCurrent();
}

function markCurrent() {
	const cur = location.hash || '#/';
	for (const a of document.querySelectorAll('.tree-link, .nav-list a')) {
		const href = a.getAttribute('href');
		const on = href === cur || (a.classList.contains('tree-link') && cur.startsWith(href + '/'));
		if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
	}
}

// ---- events ----
function onEvent(ev) {
	store.events.push(ev);
	if (store.events.length > EVENT_KEEP) store.events.splice(0, store.events.length - EVENT_KEEP);
	store.eventCursor = Math.max(store.eventCursor, ev.cursor || 0);
	if (/^(host|vm|cluster|compliance|image)\b/.test(ev.type || '')) scheduleInventory();
	if (/^task\./.test(ev.type || '')) refreshTaskCount();
	for (const fn of listeners) {
		try { fn(ev); } catch (e) { console.error(e); }
	}
}

function setStreamState(s) {
	const el = $('stream-state');
	el.dataset.state = s;
	el.textContent = s === 'live' ? 'Live' : s === 'reconnecting' ? 'Reconnecting…' : '';
	el.title = s === 'live' ? 'Receiving events from the center as they happen' : 'The event stream is interrupted; retrying';
}

async function startEvents() {
	// The last 200 events, then the stream from there.
	const head = await api.get('/events?limit=1');
	const from = Math.max(0, (head.last || 0) - 200);
	let after = from;
	for (;;) {
		const page = await api.get(`/events?after=${after}&limit=1000`);
		for (const ev of page.events) onEvent(ev);
		if (!page.events.length || page.cursor >= page.last) { after = page.cursor; break; }
		after = page.cursor;
	}
	stopStream = api.followEvents(after, onEvent, setStreamState);
}

async function refreshTaskCount() {
	try {
		const r = await api.get('/tasks?status=running&limit=100');
		const el = $('tasks-running');
		el.hidden = r.tasks.length === 0;
		el.textContent = `${r.tasks.length} running`;
	} catch { /* shown elsewhere */ }
}

// ---- routing ----
function parseRoute() {
	const parts = (location.hash.replace(/^#\/?/, '') || '').split('/').filter(Boolean).map(decodeURIComponent);
	const [a, b, c] = parts;
	if (a === 'cluster' && b && c === 'updates') return { view: 'updates', cluster: b };
	if (a === 'cluster' && b) return { view: 'cluster', cluster: b };
	if (a === 'host' && b) return { view: 'host', host: b };
	if (a === 'vm' && b && c) return { view: 'vm', host: b, vm: c };
	if (['depot', 'settings', 'tasks', 'events'].includes(a)) return { view: a, arg: b };
	return { view: 'home' };
}

async function route() {
	if (!store.me) return;
	if (viewCleanup) { try { viewCleanup(); } catch { /* ignore */ } }
	viewCleanup = null;
	for (const fn of viewListeners) listeners.delete(fn);
	viewListeners = [];
	markCurrent();
	const r = parseRoute();
	const main = $('main');
	clear(main, h('p', { class: 'loading', role: 'status' }, 'Loading…'));
	const myHash = location.hash;
	const ctx = {
		route: r,
		store,
		loadInventory,
		onEvent(fn) { listeners.add(fn); viewListeners.push(fn); },
		go(hash) { location.hash = hash; },
		stale: () => location.hash !== myHash,
	};
	try {
		const mod = await views[r.view]();
		if (ctx.stale()) return;
		main.dataset.view = r.view;
		const cleanup = await mod.render(main, ctx);
		if (ctx.stale()) { if (cleanup) cleanup(); return; }
		viewCleanup = cleanup || null;
	} catch (e) {
		if (ctx.stale()) return;
		clear(main, h('h1', {}, 'Something went wrong'),
			notice('error', e instanceof api.ApiError ? e.message : `The page could not be shown: ${e.message}`));
		console.error(e);
	}
}

// ---- start ----
async function start() {
	$('signin').hidden = true;
	$('app').hidden = false;
	$('whoami').textContent = `Signed in as ${store.me.user} (${store.me.role})`;
	$('server-name').textContent = location.host;
	document.title = `Seam Center — ${location.hostname}`;
	await loadInventory();
	refreshTaskCount();
	startEvents().catch(() => setStreamState('reconnecting'));
	await route();
}

api.setUnauthorizedHandler(() => {
	if (store.me) signOut('The server no longer accepts this token. Sign in again.');
});

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', async () => {
	$('signin-form').addEventListener('submit', async (e) => {
		e.preventDefault();
		const tok = $('signin-token').value.trim();
		const btn = e.target.querySelector('button');
		btn.disabled = true;
		$('signin-error').textContent = '';
		try {
			await signIn(tok);
		} catch (err) {
			$('signin-error').textContent = err.status === 401
				? 'The server refused this token. Check it and try again.'
				: `Cannot sign in: ${err.message}`;
		} finally {
			btn.disabled = false;
		}
	});
	$('signout').addEventListener('click', () => signOut('Signed out.'));
	const tok = api.token.get();
	if (!tok) return showSignin();
	try {
		await signIn(tok);
	} catch (err) {
		api.token.clear();
		showSignin(err.status === 401 ? 'Your session has ended. Sign in again.' : `Cannot reach the center: ${err.message}`);
	}
});
