// lab.mjs — a real seam-center and real seam-hostd hosts on loopback, for
// the browser test (test_web.mjs) and for looking at the web client by hand
// (`node tests/web/lab.mjs` starts a lab, prints its URL and token, and
// stops everything on Ctrl-C).
//
// Binaries come from $SEAM_BUILD (default <repo>/build); seam-hostd from
// $SEAM_HOSTD (default $SEAM_BUILD/seam-hostd). This machine may have no
// /dev/kvm, so, as the center's e2e tests do (tests/e2e/center_harness.py),
// the bundles are made by bundles/make-bundles from stand-in programs whose
// seam-vmx is a TEST DOUBLE that speaks its command line and sleeps: VMs can
// be created and "powered on" without a hypervisor. Every process started
// here is recorded and killed by stop() — the daemons, and the stand-in vmx
// processes the hosts detached.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = process.env.SEAM_BUILD || path.join(REPO, 'build');
export const CENTER = path.join(BUILD, 'seam-center');
export const HOSTD = process.env.SEAM_HOSTD || path.join(BUILD, 'seam-hostd');

const FAKE_VMX = `#!/bin/sh
# fake-vmx: a TEST DOUBLE of seam-vmx for the web test (no /dev/kvm).
set -eu
cmd="\${1:-}"
shift || true
case "$cmd" in
run)
	ctl=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--control) ctl="$2"; shift 2 ;;
		--serial-log) echo "fake guest booted" >> "$2"; shift 2 ;;
		*) shift ;;
		esac
	done
	[ -n "$ctl" ] || exit 2
	echo $$ > "$ctl"
	exec sleep 100000
	;;
ctl)
	pid=$(cat "$1")
	case "$2" in
	status) kill -0 "$pid" && echo running ;;
	stop) kill "$pid" ;;
	*) exit 2 ;;
	esac
	;;
*) exit 2 ;;
esac
`;

function parseKv(text) {
	const out = {};
	for (const line of text.split('\n')) {
		const i = line.indexOf('=');
		if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
	}
	return out;
}

// Start a daemon and read KEY=VALUE lines on stdout until `until` is seen.
function startDaemon(cmd, args, logFile, until) {
	return new Promise((resolve, reject) => {
		const log = fs.openSync(logFile, 'a');
		const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', log] });
		fs.closeSync(log);
		let buf = '';
		const timer = setTimeout(() => reject(new Error(`${cmd} did not start: see ${logFile}`)), 30000);
		p.stdout.setEncoding('utf8');
		p.stdout.on('data', (d) => {
			buf += d;
			const kv = parseKv(buf);
			if (until in kv) {
				clearTimeout(timer);
				p.stdout.removeAllListeners('data');
				p.stdout.resume();
				resolve({ proc: p, kv });
			}
		});
		p.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`${cmd} exited (${code}): see ${logFile}`));
		});
	});
}

// SIGTERM (SIGKILL after 15 s); resolves with how it ended.
function stopProc(p) {
	return new Promise((resolve) => {
		if (!p) return resolve(null);
		if (p.exitCode !== null || p.signalCode !== null) return resolve({ code: p.exitCode, signal: p.signalCode });
		const t = setTimeout(() => p.kill('SIGKILL'), 15000);
		p.once('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal }); });
		p.kill('SIGTERM');
	});
}

// A small HTTPS client of the center (self-signed certificate: pinning is
// not what this test is about; the browser is told the same).
export class Api {
	constructor(port, token) {
		this.port = port;
		this.token = token;
	}
	call(method, p, body, headers = {}) {
		return new Promise((resolve, reject) => {
			let data = null;
			if (body !== undefined && !(body instanceof Buffer)) {
				data = Buffer.from(JSON.stringify(body));
				headers['Content-Type'] = 'application/json';
			} else if (body) {
				data = body;
			}
			const req = https.request({
				host: '127.0.0.1', port: this.port, method,
				path: '/api/v1' + p, rejectUnauthorized: false,
				headers: { Authorization: `Bearer ${this.token}`, ...headers,
					...(data ? { 'Content-Length': data.length } : {}) },
			}, (res) => {
				const chunks = [];
				res.on('data', (c) => chunks.push(c));
				res.on('end', () => {
					const text = Buffer.concat(chunks).toString();
					let json = null;
					try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
					resolve({ status: res.statusCode, json, text });
				});
			});
			req.on('error', reject);
			if (data) req.write(data);
			req.end();
		});
	}
	async ok(method, p, body) {
		const r = await this.call(method, p, body);
		if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${r.text}`);
		return r.json;
	}
}

export class Lab {
	constructor() {
		this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seam-web-'));
		this.procs = [];
		this.hosts = [];
	}

	async startCenter() {
		const state = path.join(this.dir, 'center');
		const { proc, kv } = await startDaemon(CENTER, [
			'--state', state, '--listen', '127.0.0.1:0', '--poll-ms', '300',
			'--web-dir', path.join(REPO, 'web')],
			path.join(this.dir, 'center.log'), 'thumbprint');
		this.procs.push(proc);
		this.center = proc;
		this.port = Number(kv.port);
		this.token = kv.admin_token;
		this.url = `https://127.0.0.1:${this.port}/`;
		this.api = new Api(this.port, this.token);
		return this;
	}

	makeBundles() {
		const progs = path.join(this.dir, 'programs');
		fs.mkdirSync(progs, { recursive: true });
		for (const name of ['seam-vmx', 'seam-vmx-next', 'seam-vmx-major', 'seam-hostd', 'seam-guest']) {
			fs.writeFileSync(path.join(progs, name),
				name.includes('vmx') ? FAKE_VMX : `#!/bin/sh\necho stand-in ${name}\n`,
				{ mode: 0o755 });
		}
		this.bundles = path.join(this.dir, 'bundles');
		const env = { ...process.env, SEAM_BUNDLE_PROGRAMS: progs };
		delete env.SEAM_TRUST_DIR;
		const r = spawnSync(path.join(REPO, 'bundles', 'make-bundles'), [BUILD, this.bundles],
			{ env, encoding: 'utf8', timeout: 120000 });
		if (r.status !== 0) throw new Error(`make-bundles: ${r.stderr}`);
		return this.bundles;
	}

	async trustDevKey() {
		const key = fs.readFileSync(path.join(this.bundles, 'dev-key.pub'), 'utf8').trim();
		const r = await this.api.call('POST', '/depot/trust', { level: 'certified', name: 'dev-key', key });
		if (r.status !== 201 && r.status !== 409) throw new Error(r.text);
	}

	importBundle(version) {
		return this.api.call('POST', '/depot/bundles',
			fs.readFileSync(path.join(this.bundles, `seam-${version}.zip`)),
			{ 'Content-Type': 'application/zip' });
	}

	hostdAvailable() {
		return fs.existsSync(HOSTD);
	}

	// A hostd with base image `base` installed (hostd init --bundle), started.
	async startHost(base = '1.0.0.0') {
		const i = this.hosts.length;
		const state = path.join(this.dir, `host${i}`);
		const bundle = path.join(this.bundles, `seam-${base}.zip`);
		let r = spawnSync(HOSTD, ['init', '--state', state, '--bundle', bundle, '--base', base,
			'--trust', path.join(this.bundles, 'trust')], { encoding: 'utf8', timeout: 60000 });
		if (r.status !== 0) {
			// A hostd that cannot install bundles: seed the component store
			// the way the center's e2e harness does.
			fs.rmSync(state, { recursive: true, force: true });
			r = spawnSync(HOSTD, ['init', '--state', state], { encoding: 'utf8', timeout: 60000 });
			if (r.status !== 0) throw new Error(`hostd init: ${r.stderr}`);
			const s = spawnSync('/usr/bin/python3', ['-c',
				'import sys; sys.path.insert(0, sys.argv[1]); import center_harness as h; '
				+ 'h.seed_base_image(sys.argv[2], sys.argv[3], sys.argv[4])',
				path.join(REPO, 'tests', 'e2e'), state, bundle, base], { encoding: 'utf8' });
			if (s.status !== 0) throw new Error(`seed base image: ${s.stderr}`);
		}
		const init = parseKv(r.stdout);
		const { proc, kv } = await startDaemon(HOSTD, ['--state', state, '--listen', '127.0.0.1:0'],
			path.join(state, 'hostd.log'), 'thumbprint');
		this.procs.push(proc);
		const h = { state, proc, port: Number(kv.port), token: init.enrollment_token,
			thumbprint: init.thumbprint, address: `127.0.0.1:${kv.port}` };
		this.hosts.push(h);
		return h;
	}

	// Add a host through the API: ask, check the thumbprint, confirm.
	async addHost(h, cluster, name) {
		const ask = await this.api.ok('POST', '/hosts', { address: h.address, token: h.token, cluster, name });
		if (ask.thumbprint !== h.thumbprint) throw new Error('thumbprint differs');
		return this.api.ok('POST', '/hosts', { address: h.address, token: h.token, cluster, name,
			thumbprint: ask.thumbprint });
	}

	async waitTask(id, timeoutMs = 60000) {
		const end = Date.now() + timeoutMs;
		while (Date.now() < end) {
			const t = await this.api.ok('GET', `/tasks/${id}`);
			if (['success', 'error', 'cancelled'].includes(t.status)) return t;
			await new Promise((r) => setTimeout(r, 100));
		}
		throw new Error(`task ${id} did not finish`);
	}

	// Stop the center; how it ended and what it logged (sanitizer reports
	// of an ASan build land there).
	async stopCenter() {
		const end = await stopProc(this.center);
		return { ...end, log: fs.readFileSync(path.join(this.dir, 'center.log'), 'utf8') };
	}

	// The stand-in vmx processes the hosts started (detached from hostd).
	vmxPids() {
		const pids = [];
		for (const h of this.hosts) {
			const vms = path.join(h.state, 'vms');
			if (!fs.existsSync(vms)) continue;
			for (const vm of fs.readdirSync(vms)) {
				try {
					pids.push(JSON.parse(fs.readFileSync(path.join(vms, vm, 'runtime.json'), 'utf8')).pid);
				} catch { /* not running */ }
			}
		}
		return pids;
	}

	async stop() {
		const vmx = this.vmxPids();
		for (const p of this.procs.slice().reverse()) await stopProc(p);
		for (const pid of [...vmx, ...this.vmxPids()]) {
			try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
		}
		this.procs = [];
	}

	remove() {
		fs.rmSync(this.dir, { recursive: true, force: true });
	}
}

// A lab to look at by hand: a cluster of three hosts, a few VMs.
async function main() {
	const lab = new Lab();
	const done = async () => { await lab.stop(); lab.remove(); process.exit(0); };
	process.on('SIGINT', done);
	process.on('SIGTERM', done);
	try {
		await lab.startCenter();
		lab.makeBundles();
		await lab.trustDevKey();
		await lab.api.ok('POST', '/clusters', { name: 'prod' });
		if (lab.hostdAvailable()) {
			for (let i = 1; i <= 3; i++) await lab.addHost(await lab.startHost(), 'prod', `esx-${i}`);
			for (const [n, h] of [['web-1', 'esx-1'], ['db-1', 'esx-2'], ['app-1', 'esx-3']]) {
				await lab.api.ok('POST', '/vms', { name: n, mem: 64, vcpus: 1, host: h });
				await lab.api.ok('POST', `/vms/${n}/power-on`);
			}
			await lab.api.ok('POST', '/vms', { name: 'idle-1', mem: 64, vcpus: 1, host: 'esx-1' });
		}
		if (process.argv.includes('--import')) {
			for (const v of ['1.0.0.0', '1.0.0.0100', '2.0.0.0']) await lab.importBundle(v);
		}
		console.log(`url=${lab.url}\ntoken=${lab.token}\ndir=${lab.dir}\nbundles=${lab.bundles}`);
	} catch (e) {
		console.error(e);
		await done();
	}
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
