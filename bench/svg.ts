// A small dependency-free SVG line chart for learning curves (rounds on x, metrics on y in [0, 1]).
export interface Series {
  name: string;
  color: string;
  values: number[];
}

export function lineChart(title: string, series: Series[], opts: { width?: number; height?: number; yMin?: number; yMax?: number } = {}): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const pad = { left: 56, right: 150, top: 40, bottom: 44 };
  const rounds = Math.max(...series.map((s) => s.values.length));
  const all = series.flatMap((s) => s.values);
  const yMin = opts.yMin ?? Math.max(0, Math.floor((Math.min(...all) - 0.05) * 20) / 20);
  const yMax = opts.yMax ?? Math.min(1, Math.ceil((Math.max(...all) + 0.05) * 20) / 20);
  const x = (i: number) => pad.left + (rounds <= 1 ? 0 : (i / (rounds - 1)) * (width - pad.left - pad.right));
  const y = (v: number) => pad.top + (1 - (v - yMin) / (yMax - yMin || 1)) * (height - pad.top - pad.bottom);
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2 - pad.right / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = yMin + ((yMax - yMin) * t) / 4;
    parts.push(`<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${pad.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  for (let i = 0; i < rounds; i++) parts.push(`<text x="${x(i)}" y="${height - pad.bottom + 18}" text-anchor="middle">${i}</text>`);
  parts.push(`<text x="${(pad.left + width - pad.right) / 2}" y="${height - 8}" text-anchor="middle">round</text>`);
  series.forEach((s, k) => {
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points}"/>`);
    s.values.forEach((v, i) => parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)} round ${i}: ${v.toFixed(4)}</title></circle>`));
    parts.push(`<rect x="${width - pad.right + 14}" y="${pad.top + k * 20 - 9}" width="12" height="3" fill="${s.color}"/>`);
    parts.push(`<text x="${width - pad.right + 32}" y="${pad.top + k * 20 - 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
