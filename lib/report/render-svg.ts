/** Renders a Vega-Lite chart to an SVG string in Node, headless (no browser or canvas needed). */
import type { TopLevelSpec } from 'vega-lite'

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use, not with the package: vega's graph has a top-level await (it probes for
  // the optional 'canvas' package), and a static import would stop CommonJS code from
  // require()-ing backprop.
  const [{ parse, View }, { compile }] = await Promise.all([importChartPackage('vega'), importChartPackage('vega-lite')])
  const view = new View(parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** Loads both chart packages now: throws the install hint before long work that needs them at its end. */
export async function requireChartPackages(): Promise<void> {
  await Promise.all([importChartPackage('vega'), importChartPackage('vega-lite')])
}

/** The versions reports are made with (the optional peer dependencies in package.json). */
export const CHART_PACKAGES = 'vega@^6.4.0 vega-lite@~6.4.3'

/**
 * vega and vega-lite are optional peer dependencies (~24 MB of the ~30 MB an install would
 * otherwise weigh, for reports only): when one is missing, say exactly what to install.
 */
async function importChartPackage<T extends 'vega' | 'vega-lite'>(name: T): Promise<T extends 'vega' ? typeof import('vega') : typeof import('vega-lite')> {
  try {
    return (await import(name)) as never
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ChartPackagesMissingError(`charts and reports need the optional packages vega and vega-lite, and '${name}' is not installed: run npm install ${CHART_PACKAGES}`, { cause: error })
    }
    throw error
  }
}

/** vega or vega-lite is not installed (they are optional peer dependencies). */
export class ChartPackagesMissingError extends Error {
  override name = 'ChartPackagesMissingError'
}
