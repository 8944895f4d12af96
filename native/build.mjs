// The steps of `npm run build:native` after `napi build` (which compiles crates/node into
// native/backprop.<platform>.node but writes no loader without napi-derive):
// 1. native/index.js: the standard napi-rs ESM loader for the export names in
//    native/exports.json — the one list of them, which __test__/native-no-crash.test.ts checks
//    against what the addon really exports;
// 2. the binary copied into its per-platform package, npm/<platform>/ (what `napi artifacts`
//    does, without the stray copies that command leaves at the package root).
import { copyFileSync, existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeJsBinding } from '@napi-rs/cli'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const idents = JSON.parse(readFileSync(join(here, 'exports.json'), 'utf8'))

await writeJsBinding({
  platform: true,
  idents,
  binaryName: pkg.napi.binaryName,
  packageName: pkg.name,
  version: pkg.version,
  outputDir: here,
  jsBinding: 'index.js',
  format: 'esm',
})

// The one target napi.targets lists here (no other Rust target is installable on these machines).
const platform = 'linux-x64-gnu'
const binary = `${pkg.napi.binaryName}.${platform}.node`
if (existsSync(join(here, binary))) copyFileSync(join(here, binary), join(root, 'npm', platform, binary))
