// The bench's chart: horizontal bars of each row's throughput relative to the bare node:http
// baseline of the same run, grouped by scenario, as a self-contained SVG (no browser, no library).
// The ratios span four orders of magnitude (a bcrypt cost-10 check against a server answering
// from memory), so the axis is logarithmic: a linear one would show only the fast rows.

/** Escapes text for an SVG text node or attribute value. */
export const escapeXml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);

/** A ratio as the chart prints it: 3 significant digits, at most 7 decimals ("1.02×", "0.0153×", "0.000600×"). */
export function formatRatio(r) {
  if (!Number.isFinite(r) || r <= 0) return '0×';
  const digits = Math.min(7, Math.max(0, 2 - Math.floor(Math.log10(r))));
  return `${r.toFixed(digits)}×`;
}

/** The decades the axis spans: [10^lo, 10^hi] around every value (at least 10^-1 … 10^0). */
export function axisDecades(values) {
  const positive = values.filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.min(-1, ...positive.map((v) => Math.floor(Math.log10(v))));
  const hi = Math.max(0, ...positive.map((v) => Math.ceil(Math.log10(v))));
  return { lo, hi };
}

/**
 * The SVG (a string) of `groups`: [{ title, bars: [{ label, ratio, note? }] }]; `title` and
 * `subtitle` head it. Each bar is as long as log10(ratio) on an axis of whole decades (a ratio of
 * 0 or less is drawn empty and labelled 0×), with its label on the left and its ratio (and note)
 * on the right; the baseline 1× is drawn as a line. Deterministic: the same input, the same bytes.
 */
export function renderChart({ title, subtitle = '', groups }) {
  // Room for the longest label at 11 px (about 6.3 px per character in DejaVu Sans).
  const longest = Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => b.label.length)));
  const labelWidth = Math.max(200, Math.ceil(20 + longest * 6.3));
  const plotWidth = 440;
  const valueWidth = 230;
  const barHeight = 16;
  const rowGap = 5;
  const groupGap = 14;
  const groupTitleHeight = 20;
  const top = subtitle ? 62 : 44;
  const axisHeight = 26;
  const width = labelWidth + plotWidth + valueWidth + 20;
  const { lo, hi } = axisDecades(groups.flatMap((g) => g.bars.map((b) => b.ratio)));
  const x0 = labelWidth + 10;
  const xOf = (ratio) => x0 + ((Math.log10(ratio) - lo) / (hi - lo)) * plotWidth;

  const parts = [];
  let y = top + axisHeight;
  for (const group of groups) {
    y += groupGap;
    parts.push(`<text x="10" y="${y + 14}" class="group">${escapeXml(group.title)}</text>`);
    y += groupTitleHeight;
    for (const bar of group.bars) {
      const drawn = Number.isFinite(bar.ratio) && bar.ratio > 0;
      const x1 = drawn ? Math.max(x0, xOf(bar.ratio)) : x0;
      parts.push(`<text x="${labelWidth}" y="${y + 12}" class="label" text-anchor="end">${escapeXml(bar.label)}</text>`);
      parts.push(`<rect x="${x0}" y="${y}" width="${(x1 - x0).toFixed(1)}" height="${barHeight}" class="${bar.kind === 'authts' ? 'bar authts' : 'bar'}"/>`);
      const value = `${formatRatio(drawn ? bar.ratio : 0)}${bar.note ? ` · ${bar.note}` : ''}`;
      parts.push(`<text x="${x0 + plotWidth + 8}" y="${y + 12}" class="value">${escapeXml(value)}</text>`);
      y += barHeight + rowGap;
    }
  }
  const bottom = y + 10;

  const axis = [];
  for (let d = lo; d <= hi; d++) {
    const x = xOf(10 ** d).toFixed(1);
    axis.push(`<line x1="${x}" y1="${top + axisHeight - 4}" x2="${x}" y2="${bottom}" class="${d === 0 ? 'one' : 'grid'}"/>`);
    const text = d >= 0 ? `${10 ** d}×` : `${(10 ** d).toFixed(-d)}×`;
    axis.push(`<text x="${x}" y="${top + axisHeight - 8}" class="tick" text-anchor="middle">${text}</text>`);
  }

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${bottom + 10}" viewBox="0 0 ${width} ${bottom + 10}" font-family="DejaVu Sans, Arial, sans-serif">`,
    '<style>.title{font-size:16px;font-weight:bold}.subtitle{font-size:11px;fill:#555}.group{font-size:13px;font-weight:bold}.label,.value{font-size:11px}.tick{font-size:10px;fill:#555}.grid{stroke:#ddd}.one{stroke:#c33;stroke-width:1.5}.bar{fill:#8a9bb0}.bar.authts{fill:#2b6cb0}</style>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="24" class="title">${escapeXml(title)}</text>`,
    ...(subtitle ? [`<text x="10" y="44" class="subtitle">${escapeXml(subtitle)}</text>`] : []),
    ...axis,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
