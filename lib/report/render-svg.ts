/** Renders a Vega-Lite chart to an SVG string in Node, headless (no browser or canvas needed). */
import type { TopLevelSpec } from 'vega-lite'

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use, not with the package: vega's graph has a top-level await (it probes for
  // the optional 'canvas' package), and a static import would stop CommonJS code from
  // require()-ing backprop.
  const [{ parse, View }, { compile }] = await Promise.all([import('vega'), import('vega-lite')])
  const view = new View(parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
