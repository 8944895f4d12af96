/**
 * Connections to Redis for BullMQ: `redis://[:password@]host[:port][/db]`, or `rediss://` for
 * TLS; the URL goes to ioredis as it is. BullMQ needs `maxRetriesPerRequest: null` on the
 * connections its workers block on, so every connection here has it.
 */
import { Redis } from 'ioredis'

/** A new connection; it connects in the background and reconnects until closed. */
export function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null })
}
