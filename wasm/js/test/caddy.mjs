// Starts the real Caddy (bin/caddy: Caddy with kassa) on a test Caddyfile.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repo } from './helpers.mjs';

/** A free loopback TCP port. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * The Caddy binary: $KASSA_CADDY, else bin/caddy (`make build`), built with
 * `go build -o bin/caddy ./caddy` when missing.
 */
export function caddyBinary() {
  if (process.env.KASSA_CADDY) return process.env.KASSA_CADDY;
  const bin = path.join(repo, 'bin/caddy');
  if (!existsSync(bin)) {
    execFileSync('go', ['build', '-o', bin, './caddy'], { cwd: repo, stdio: 'inherit' });
  }
  return bin;
}

/** The module ids the binary has (`caddy list-modules`). */
export function caddyModules() {
  return execFileSync(caddyBinary(), ['list-modules'], { encoding: 'utf8' }).split('\n').map((l) => l.trim());
}

/**
 * Runs `caddy run --config <file>` with env added (each Caddyfile reads its
 * ports from {$...} placeholders), waits until url answers, and returns
 * { stop(), logs() }.
 */
export async function startCaddy(config, env, url, { timeoutMs = 20000 } = {}) {
  const home = mkdtempSync(path.join(tmpdir(), 'kassa-caddy-'));
  const child = spawn(caddyBinary(), ['run', '--config', config, '--adapter', 'caddyfile'], {
    cwd: repo,
    env: { ...process.env, HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home, KASSA_ROOT: repo, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  let exited = null;
  child.on('exit', (code) => (exited = code));

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null) throw new Error(`caddy exited with ${exited}:\n${log}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        throw new Error(`caddy did not answer ${url} within ${timeoutMs} ms:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    logs: () => log,
    async stop() {
      if (exited === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
        if (exited === null) child.kill('SIGKILL');
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}
