// The per-turn latency chart: one bar per turn (caller stops speaking → first audio back), inline SVG.

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {number[]} values milliseconds, one per turn */
export function latencyChart(values) {
  const width = 360, height = 90, pad = 18;
  const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', id: 'latency-chart',
    'aria-label': `per-turn latency: ${values.map((v) => Math.round(v)).join(', ')} ms` });
  if (!values.length) {
    chart.append(svg('text', { x: 8, y: height / 2, fill: '#66707a', 'font-size': 12 }, 'no turn measured yet'));
    return chart;
  }
  const max = Math.max(...values, 1);
  const step = (width - pad * 2) / Math.max(values.length, 8);
  values.forEach((ms, i) => {
    const h = ((height - pad * 2) * ms) / max;
    const x = pad + i * step;
    const bar = svg('rect', { x, y: height - pad - h, width: Math.max(step - 3, 2), height: h, fill: ms > 1500 ? '#b42318' : '#1f6feb' });
    bar.append(svg('title', {}, `turn ${i + 1}: ${Math.round(ms)} ms`));
    chart.append(bar);
  });
  chart.append(svg('text', { x: pad, y: 12, fill: '#66707a', 'font-size': 10 }, `max ${Math.round(max)} ms`));
  chart.append(svg('line', { x1: pad, x2: width - pad, y1: height - pad, y2: height - pad, stroke: '#d9dee3' }));
  return chart;
}
