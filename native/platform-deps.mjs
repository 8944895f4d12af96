// npm pack/publish hooks (prepack / postpack): the packed manifest lists the per-platform
// packages as optionalDependencies at this version, so that `npm install backprop-nn` brings
// the binary for the machine it runs on (npm skips the ones whose os/cpu/libc do not match).
// They cannot stay in package.json itself: `npm ci` in a checkout would then need them from the
// registry before they are published. `napi pre-publish` does the same on publish; this makes a
// plain `npm pack` tarball install like the published package.
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** napi-rs's platform name (the npm/ folder and package suffix) of each Rust target we build. */
const PLATFORMS = { 'x86_64-unknown-linux-gnu': 'linux-x64-gnu' }

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const manifest = join(root, 'package.json')
const saved = join(root, '.package.json.prepack')

if (process.argv[2] === 'add') {
  if (!existsSync(saved)) copyFileSync(manifest, saved)
  const pkg = JSON.parse(readFileSync(manifest, 'utf8'))
  const platforms = pkg.napi.targets.map((target) => {
    if (!(target in PLATFORMS)) throw new Error(`platform-deps.mjs: add the napi platform name of ${target}`)
    return PLATFORMS[target]
  })
  pkg.optionalDependencies = Object.fromEntries(platforms.map((p) => [`${pkg.name}-${p}`, pkg.version]))
  writeFileSync(manifest, JSON.stringify(pkg, null, 2) + '\n')
} else if (process.argv[2] === 'restore') {
  if (existsSync(saved)) {
    copyFileSync(saved, manifest)
    rmSync(saved)
  }
} else {
  throw new Error('usage: node native/platform-deps.mjs add|restore')
}
