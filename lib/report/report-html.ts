/** The report's index.html: the facts, the scores and every chart (inline SVG) on one page. */

export interface HtmlChart {
  /** The SVG file beside index.html. */
  file: string
  caption: string
  svg: string
}

export interface HtmlTable {
  title: string
  header: string[]
  rows: (string | number)[][]
}

export interface HtmlPage {
  title: string
  facts: [string, string][]
  tables: HtmlTable[]
  charts: HtmlChart[]
  generator: string
}

export function reportHtml(page: HtmlPage): string {
  const facts = page.facts.length
    ? `<table class="facts">${page.facts.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join('')}</table>`
    : ''
  const tables = page.tables
    .map(
      (t) => `<section class="table"><h2>${escape(t.title)}</h2><table class="scores"><thead><tr>${t.header.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${t.rows
        .map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th>${escape(String(c))}</th>` : `<td>${escape(typeof c === 'number' ? formatNumber(c) : c)}</td>`)).join('')}</tr>`)
        .join('')}</tbody></table></section>`,
    )
    .join('\n')
  const charts = page.charts
    .map((c, i) => `<figure id="chart-${i}">${uniqueIds(c.svg, `c${i}-`)}<figcaption>${escape(c.caption)} · <a href="${escape(c.file)}">${escape(c.file)}</a></figcaption></figure>`)
    .join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(page.title)}</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.5rem; margin-bottom: 0.5rem; }
  h2 { font-size: 1.05rem; margin: 0 0 0.4rem; }
  table { border-collapse: collapse; font-size: 0.9rem; }
  th, td { padding: 0.2rem 0.8rem 0.2rem 0; text-align: left; vertical-align: top; }
  table.scores td { text-align: right; font-variant-numeric: tabular-nums; }
  table.scores thead th { border-bottom: 1px solid #bbb; }
  table.facts th { color: #555; font-weight: normal; }
  .tables { display: flex; flex-wrap: wrap; gap: 1rem 3rem; margin: 1.5rem 0; }
  .charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
  figure { margin: 0; }
  figcaption { font-size: 0.8rem; color: #666; margin-top: 0.3rem; }
  footer { margin-top: 2rem; font-size: 0.8rem; color: #888; }
</style>
</head>
<body>
<h1>${escape(page.title)}</h1>
${facts}
<div class="tables">
${tables}
</div>
<div class="charts">
${charts}
</div>
<footer>${escape(page.generator)}</footer>
</body>
</html>
`
}

/** Prefixes the ids inside one SVG so several inline SVGs on a page cannot clash. */
function uniqueIds(svg: string, prefix: string): string {
  return svg.replace(/\bid="([^"]+)"/g, `id="${prefix}$1"`).replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`)
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v)
  return Number.isFinite(v) ? v.toFixed(4) : String(v)
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}
