/**
 * `--json`: stdout holds one machine-readable document and nothing else. While the command
 * runs, what it prints for people goes to stderr; when it ends, the document it returns is
 * written to stdout.
 */
export async function withJsonOutput(enabled: boolean | undefined, run: () => Promise<{ status: number; document: Record<string, unknown> }>): Promise<number> {
  if (!enabled) return (await run()).status
  const log = console.log
  console.log = console.error
  try {
    const { status, document } = await run()
    process.stdout.write(`${JSON.stringify(document)}\n`)
    return status
  } finally {
    console.log = log
  }
}
