/**
 * A real Redis server for a test file: Debian's redis-server on 127.0.0.1, a free port, no
 * persistence, in a temporary directory; stopped (and its directory removed) by `stop()`.
 * `.ci/run` installs redis-server; where it is missing the tests that need it are skipped with
 * that reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const REDIS_SERVER = ['/usr/bin/redis-server', 'redis-server'].find((p) => spawnSync(p, ['--version']).status === 0) ?? null

export interface RedisServer {
  url: string
  port: number
  /** Redis's own command line client against this server (for checks from the test). */
  cli(...args: string[]): string
  stop(): Promise<void>
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** With `password`, clients must give it (redis://:password@host:port). */
export async function startRedis(options: { password?: string } = {}): Promise<RedisServer> {
  if (REDIS_SERVER === null) throw new Error('redis-server is not installed (apt-get install redis-server)')
  const dir = mkdtempSync(join(tmpdir(), 'backprop-redis-'))
  const port = await freePort()
  const auth = options.password ? ['--requirepass', options.password] : []
  const child: ChildProcess = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...auth], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000)
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)))
    child.stdout!.on('data', () => {
      if (/Ready to accept connections/.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  const redisCli = ['/usr/bin/redis-cli', 'redis-cli'].find((p) => spawnSync(p, ['--version']).status === 0) ?? 'redis-cli'
  return {
    url: `redis://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}`,
    port,
    cli: (...args) => spawnSync(redisCli, ['-p', String(port), ...(options.password ? ['-a', options.password, '--no-auth-warning'] : []), ...args], { encoding: 'utf8' }).stdout.trim(),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
