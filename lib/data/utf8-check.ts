/**
 * Passes a byte stream through unchanged, failing at the first byte that is not UTF-8 with the
 * line it is on. A lenient decoder turns such bytes into U+FFFD, so two different Latin-1 labels
 * ('Bogotá', 'Medellín' saved as Latin-1) would both read as '…�…' and merge into one class.
 */
import { Transform, type TransformCallback } from 'node:stream'
import { DataFileError } from '../errors.js'

export function utf8Checked(path: string): Transform {
  /** Continuation bytes still due, and the range the next one must fall in. */
  let need = 0
  let low = 0x80
  let high = 0xbf
  let line = 1
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      for (let i = 0; i < chunk.length; i++) {
        const b = chunk[i]!
        if (need > 0) {
          if (b < low || b > high) return done(invalid(path, line))
          need--
          low = 0x80
          high = 0xbf
          continue
        }
        if (b < 0x80) {
          if (b === 0x0a) line++
          continue
        }
        // The lead byte decides the length, and the overlong and surrogate forms it excludes.
        if (b >= 0xc2 && b <= 0xdf) need = 1
        else if (b >= 0xe0 && b <= 0xef) {
          need = 2
          if (b === 0xe0) low = 0xa0
          if (b === 0xed) high = 0x9f
        } else if (b >= 0xf0 && b <= 0xf4) {
          need = 3
          if (b === 0xf0) low = 0x90
          if (b === 0xf4) high = 0x8f
        } else return done(invalid(path, line))
      }
      done(null, chunk)
    },
    flush(done: TransformCallback) {
      done(need > 0 ? invalid(path, line) : null)
    },
  })
}

function invalid(path: string, line: number): DataFileError {
  return new DataFileError(`${path}: line ${line}: the text is not valid UTF-8; save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)`, path, { line })
}
