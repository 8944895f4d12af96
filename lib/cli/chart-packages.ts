import { ChartPackagesMissingError, requireChartPackages as loadChartPackages } from '../report/render-svg.js'
import { UsageError } from './exit-codes.js'

/**
 * Checks before training that a flag asking for charts can be honoured, so a long run does not
 * end without its report: a missing optional package is a usage error naming the flag and what
 * to install.
 */
export async function requireChartPackages(flag: string): Promise<void> {
  try {
    await loadChartPackages()
  } catch (error) {
    if (error instanceof ChartPackagesMissingError) throw new UsageError(`${flag}: ${error.message}`)
    throw error
  }
}

/** Whether charts can be rendered here (for outputs where a chart is a bonus, not the point). */
export async function chartPackagesAvailable(): Promise<boolean> {
  try {
    await loadChartPackages()
    return true
  } catch (error) {
    if (error instanceof ChartPackagesMissingError) return false
    throw error
  }
}
