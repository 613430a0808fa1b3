// Headless Chromium through playwright-core (installed by wasm/js's npm ci).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { repo } from '../../../wasm/js/test/helpers.mjs';

// Without these, Chromium reaches for the network (updates, sync, QUIC
// probes) that a sandboxed CI machine does not have, and misbehaves.
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** The Chromium binary: $CHROMIUM_PATH when set, else Debian's /usr/bin/chromium; null when missing. */
export function chromiumPath() {
  if (process.env.CHROMIUM_PATH) return existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : null;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) {
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * Options for node:test: skip without Chromium, except under CI where a
 * missing browser is a failure (the test then fails in its body).
 */
export function browserSkip() {
  if (chromiumPath() || process.env.CI) return false;
  return 'Chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH); skipped because CI is not set';
}

export function requireChromium() {
  const p = chromiumPath();
  if (!p) {
    throw new Error('Chromium is required when CI is set: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH)');
  }
  return p;
}

export async function launch() {
  const executablePath = requireChromium();
  const require = createRequire(path.join(repo, 'wasm/js/package.json'));
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
}
