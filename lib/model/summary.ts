import type { Sequential } from './sequential.js'

/** A Keras-style table: each layer with its output shape and parameter count, then totals. */
export function summarize(model: Sequential): string {
  const plan = model.build().plan
  const specs = model.weightSpecs()
  const rows: [string, string, string][] = [['Layer (type)', 'Output shape', 'Params']]
  model.layers.forEach((layer, i) => {
    const p = plan.layers[i]!
    const act = p.kind === 'dense' || p.kind === 'activation' ? `, ${p.activation.name}` : p.kind === 'dropout' ? `, rate ${p.rate}` : ''
    const count = specs
      .filter((s) => s.name.startsWith(`layers.${i}.`))
      .reduce((n, s) => n + s.shape[0] * s.shape[1], 0)
    rows.push([`${i} ${layer.className}${act}`, `[batch, ${p.units}]`, String(count)])
  })
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)))
  const line = (r: [string, string, string]) =>
    `${r[0].padEnd(widths[0]!)}  ${r[1].padEnd(widths[1]!)}  ${r[2].padStart(widths[2]!)}`
  const rule = '─'.repeat(widths[0]! + widths[1]! + widths[2]! + 4)
  const total = plan.paramCount + plan.statCount
  const out = [line(rows[0]!), rule, ...rows.slice(1).map(line), rule]
  out.push(`Total params: ${total} (trainable ${plan.paramCount}, non-trainable ${plan.statCount})`)
  out.push(`Input size: ${plan.inputSize}; engine: ${model.engine}${plan.loss ? `; loss: ${plan.loss}; optimizer: ${plan.optimizer!.kind}` : '; not compiled'}`)
  return out.join('\n')
}
