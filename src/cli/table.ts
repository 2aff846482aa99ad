// Plain text tables for the listing commands: columns padded to their widest cell, two spaces apart.

/** The header and rows as aligned lines, each ending in a newline. */
export function renderColumns(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`;
  return [header, ...rows].map(line).join('');
}
