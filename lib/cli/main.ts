#!/usr/bin/env node
/** The `backprop` executable (package.json "bin"). */
import { run } from './program.js'

// Output piped into a program that stops reading (e.g. `backprop train --help | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw error
})

process.exitCode = await run(process.argv)
