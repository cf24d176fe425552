// A self-contained SVG bar chart of the ratios vs the targets (no dependencies).
// Every bar shows how many times better this package is (ratio, or 1/ratio where lower is better),
// on a log scale from parity; the black tick is the target. Green meets it, red misses it.

const esc = s => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

export function chart(metrics, { title, subtitle }) {
  const rows = metrics.map(m => {
    const flip = v => (m.better === 'higher' ? v : 1 / v)
    return { ...m, adv: m.ratio > 0 ? flip(m.ratio) : null, goal: flip(m.target) }
  })
  const values = rows.flatMap(r => [r.adv, r.goal]).filter(v => v > 0)
  const lo = Math.min(0.5, ...values.map(v => v / 1.2)), hi = Math.max(4, ...values.map(v => v * 1.2))
  const W = 960, left = 300, right = 190, top = 70, rowH = 30, plotW = W - left - right
  const H = top + rows.length * rowH + 40
  const x = v => left + (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) * plotW
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="16" y="44" fill="#555">${esc(subtitle)}</text>`
  ]
  // grid at powers of two
  for (let g = 2 ** Math.ceil(Math.log2(lo)); g <= hi; g *= 2) {
    const gx = x(g).toFixed(1)
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${H - 34}" stroke="${g === 1 ? '#333' : '#ddd'}"/>`,
      `<text x="${gx}" y="${H - 18}" text-anchor="middle" fill="#555">${g >= 1 ? g : '1/' + 1 / g}×</text>`)
  }
  rows.forEach((r, i) => {
    const y = top + i * rowH, mid = y + rowH / 2
    out.push(`<text x="${left - 8}" y="${mid + 4}" text-anchor="end">${esc(r.name)}</text>`)
    if (r.adv) {
      const a = x(Math.min(1, r.adv)), b = x(Math.max(1, r.adv))
      out.push(`<rect x="${a.toFixed(1)}" y="${y + 6}" width="${Math.max(1, b - a).toFixed(1)}" height="${rowH - 12}" fill="${r.pass ? '#2e9e4f' : '#d64541'}"/>`)
    }
    const t = x(r.goal).toFixed(1)
    out.push(`<line x1="${t}" y1="${y + 2}" x2="${t}" y2="${y + rowH - 2}" stroke="#000" stroke-width="2.5"/>`)
    const label = r.adv ? `${r.ratio.toFixed(2)} (target ${r.better === 'higher' ? '≥' : '≤'} ${r.target})` : r.status
    out.push(`<text x="${left + plotW + 10}" y="${mid + 4}" fill="${r.pass ? '#1d6b34' : '#a3221f'}">${esc(label)}</text>`)
  })
  out.push(`<text x="${left + plotW / 2}" y="${H - 2}" text-anchor="middle" fill="#555" font-size="11">times better than the official recipe (log scale; ratio = this package / official; black tick = target)</text>`, '</svg>')
  return out.join('\n') + '\n'
}
