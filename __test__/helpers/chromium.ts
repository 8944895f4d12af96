/**
 * Debian's headless Chromium, driven by playwright-core (the report and browser tests). CI
 * installs it (see .ci/run); elsewhere these tests need it too.
 */
import fs from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const chromiumAvailable = fs.existsSync(CHROMIUM) || Boolean(process.env.CI)

/** Starts headless Chromium with nothing that reaches the network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}
