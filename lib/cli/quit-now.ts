/**
 * The second Ctrl-C (or SIGTERM): quit at once. process.exit would first wait for the native
 * engine's batch in progress (Node joins its worker threads), so the signal is raised again with
 * its default action, which ends the process now — as shells expect (status 128 + signal). A
 * file being saved is safe: saves write a temporary file and rename it.
 */
export function quitNow(signal: 'SIGINT' | 'SIGTERM'): never {
  process.removeAllListeners(signal)
  process.kill(process.pid, signal)
  // Not reached once the signal is delivered; a fallback if it is blocked.
  process.exit(signal === 'SIGINT' ? 130 : 143)
}
