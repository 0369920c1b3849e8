// Live charts with uPlot: numbers over ROWTIME (line), the latest window of
// a leaderboard (bars) and anomaly scores with the points above a
// threshold highlighted. Each chart redraws at most a few times a second.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.js';
import { chartPlan, latestWindow, lineSeries, anomalySeries } from './results.js';

const PALETTE = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2'];

// LiveChart draws the rows of one stream in el according to its columns.
export class LiveChart {
  constructor(el, columns) {
    this.el = el;
    this.plan = chartPlan(columns);
    this.threshold = 2;
    this.plot = null;
    this.pending = null;
    this.width = 0;
    el.classList.add('chart');
    el.dataset.kind = this.plan.kind;
    this.title = h('div', { class: 'chart-title' });
    this.body = h('div', { class: 'chart-body' });
    el.append(this.title, this.body);
    if (this.plan.kind === 'anomaly') {
      const input = h('input', {
        type: 'number',
        step: '0.1',
        value: this.threshold,
        class: 'threshold',
        'aria-label': 'anomaly threshold',
        oninput: () => {
          this.threshold = Number(input.value) || 0;
          if (this.rows) this.update(this.rows, true);
        },
      });
      this.title.append(`${this.plan.score} over time · highlight above `, input);
    } else if (this.plan.kind === 'bar') {
      this.title.textContent = `${this.plan.value} by ${this.plan.key} · latest window`;
    } else if (this.plan.kind === 'line') {
      this.title.textContent = `${this.plan.numeric.join(', ')} over ROWTIME`;
    } else {
      el.hidden = true;
    }
    this.resize = new ResizeObserver(() => {
      const w = Math.floor(this.body.clientWidth);
      if (w && Math.abs(w - this.width) > 4) {
        this.width = w;
        if (this.plot) this.plot.setSize({ width: w, height: 220 });
      }
    });
    this.resize.observe(this.body);
  }

  // update schedules a redraw with rows (oldest first).
  update(rows, now = false) {
    this.rows = rows;
    if (this.plan.kind === 'none') return;
    if (now) return this.draw();
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.draw();
    }, 250);
  }

  draw() {
    const rows = this.rows || [];
    const width = this.body.clientWidth || 600;
    if (this.plan.kind === 'bar') return this.drawBars(rows, width);
    let data;
    let series;
    if (this.plan.kind === 'anomaly') {
      data = anomalySeries(rows, this.plan.score, this.threshold);
      series = [
        {},
        { label: this.plan.score, stroke: '#94a3b8', width: 1, points: { show: true, size: 5, fill: '#64748b' } },
        { label: `above ${this.threshold}`, stroke: '#dc2626', width: 0, paths: () => null, points: { show: true, size: 9, fill: '#dc2626' } },
      ];
    } else {
      data = lineSeries(rows, this.plan.numeric);
      series = [{}, ...this.plan.numeric.map((c, i) => ({ label: c, stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: data[0].length < 60 } }))];
    }
    const key = `${this.plan.kind}:${series.length}:${this.threshold}`;
    if (this.plot && this.key === key) {
      this.plot.setData(data);
      return;
    }
    this.destroyPlot();
    this.key = key;
    this.plot = new uPlot(
      {
        width,
        height: 220,
        series,
        scales: { x: { time: true } },
        axes: [{ stroke: '#64748b' }, { stroke: '#64748b' }],
        legend: { live: false },
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      },
      data,
      this.body,
    );
  }

  drawBars(rows, width) {
    const top = latestWindow(rows, this.plan.key, this.plan.value);
    const labels = top.map((t) => t.key);
    const data = [top.map((_, i) => i), top.map((t) => t.value)];
    const key = `bar:${labels.join('\u0000')}`;
    if (this.plot && this.key === key) {
      this.plot.setData(data);
      return;
    }
    this.destroyPlot();
    this.key = key;
    this.plot = new uPlot(
      {
        width,
        height: 220,
        series: [{}, { label: this.plan.value, fill: '#93c5fd', stroke: '#2563eb', width: 1, paths: uPlot.paths.bars({ size: [0.7, 64] }), points: { show: false } }],
        scales: { x: { time: false, range: () => [-0.5, Math.max(labels.length, 1) - 0.5] }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: '#64748b', splits: () => labels.map((_, i) => i), values: () => labels, gap: 4 },
          { stroke: '#64748b' },
        ],
        legend: { show: false },
      },
      data,
      this.body,
    );
  }

  destroyPlot() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }

  destroy() {
    clearTimeout(this.pending);
    this.resize.disconnect();
    this.destroyPlot();
  }
}
