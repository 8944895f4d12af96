import { data } from './dist/index.js'
const src = data.parquet('bench/.data/data.parquet', { label: 'label' })
await src.shape()
for (const [name, s] of [['blocks', src], ['shuffle+batch', src.shuffle(65536, { seed: 1 }).batch(128)]]) {
  const t0 = performance.now(); let n = 0
  for await (const b of s.blocks({ epoch: 0 })) n += b.rows
  console.log(name, Math.round(n / ((performance.now() - t0) / 1000)), 'rows/s')
}
