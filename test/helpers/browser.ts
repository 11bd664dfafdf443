/**
 * Debian's chromium driven by playwright-core (no downloaded browser). Tests that need it skip cleanly
 * when /usr/bin/chromium is absent; `.ci/run` installs it. Screenshots go to test-artifacts/ (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const ARTIFACTS = resolve('test-artifacts');

/**
 * Headless chromium with the flags known to work here: no sandbox (tests run as root in CI), no GPU, and
 * none of its background connections (the network is closed; they would be refused by the dozen).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Where a test's screenshot goes: test-artifacts/<name>.png (the folder is created). */
export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return resolve(ARTIFACTS, `${name}.png`);
}
