/* The patient chart: IgG, IgM, IgA over time with limits, the replacement line, projected
   crossings, therapy bands and infection markers. Data comes from <script id="chart-data">. */
(function () {
  "use strict";
  const DAY = 86400000;
  const COLORS = { igg: "#1f4e8c", igm: "#b0306a", iga: "#2e7d32" };
  const BAND_COLORS = { "anti-cd20": "rgba(31, 78, 140, 0.10)", "ig-replacement": "rgba(46, 125, 50, 0.16)" };
  const MARKERS = {
    "life-threatening": { style: "triangle", color: "#b00020", radius: 9, label: "Infection, life-threatening" },
    severe: { style: "rectRot", color: "#d9480f", radius: 8, label: "Infection, severe" },
    other: { style: "circle", color: "#6b7280", radius: 6, label: "Infection, other" },
  };
  const ms = (iso) => Date.parse(iso + "T00:00:00Z");
  const iso = (t) => new Date(t).toISOString().slice(0, 10);

  function draw() {
    const holder = document.getElementById("chart-data");
    const canvas = document.getElementById("ig-chart");
    if (!holder || !canvas || typeof Chart === "undefined") return;
    const data = JSON.parse(holder.textContent);
    const asOf = ms(data.as_of);
    const times = [asOf];
    Object.values(data.series).forEach((points) => points.forEach((p) => times.push(ms(p.date))));
    data.infections.forEach((i) => times.push(ms(i.date)));
    data.bands.forEach((b) => times.push(ms(b.start)));
    data.projections.forEach((p) => times.push(ms(p.crossing)));
    const xMin = Math.min(...times) - 30 * DAY;
    const xMax = Math.max(...times) + 30 * DAY;
    const datasets = [];
    // Fixed order (the JSON's keys arrive sorted): IgG, IgM, IgA.
    ["igg", "igm", "iga"].filter((kind) => kind in data.series).forEach((kind) => {
      const label = data.labels[kind];
      datasets.push({
        label: label, igKind: kind, type: "line", yAxisID: "y", borderColor: COLORS[kind], backgroundColor: COLORS[kind],
        pointRadius: 4, borderWidth: 2, tension: 0,
        data: data.series[kind].map((p) => ({ x: ms(p.date), y: p.value, comparator: p.comparator })),
      });
      const limit = data.limits[kind];
      if (limit !== undefined && limit !== null) {
        datasets.push({
          label: label + " lower limit " + limit, type: "line", yAxisID: "y", borderColor: COLORS[kind], borderDash: [6, 4],
          borderWidth: 1, pointRadius: 0, data: [{ x: xMin, y: limit }, { x: xMax, y: limit }],
        });
      }
    });
    datasets.push({
      label: "Replacement threshold " + data.replacement_threshold + " mg/dL", type: "line", yAxisID: "y",
      borderColor: "#b00020", borderDash: [10, 4], borderWidth: 1.5, pointRadius: 0,
      data: [{ x: xMin, y: data.replacement_threshold }, { x: xMax, y: data.replacement_threshold }],
    });
    data.projections.forEach((p) => {
      if (p.from.value === null || p.from.date === null) return;
      datasets.push({
        label: data.labels[p.kind] + " trend: crosses " + p.threshold + " on " + p.crossing, type: "line", yAxisID: "y",
        borderColor: COLORS[p.kind], borderDash: [2, 3], borderWidth: 2, pointRadius: [0, 5], pointStyle: "crossRot",
        data: [{ x: ms(p.from.date), y: p.from.value }, { x: ms(p.crossing), y: p.threshold }],
      });
    });
    Object.keys(MARKERS).forEach((severity) => {
      const m = MARKERS[severity];
      const points = data.infections.filter((i) => i.severity === severity)
        .map((i) => ({ x: ms(i.date), y: 0.08, label: i.label, encapsulated: i.encapsulated }));
      if (!points.length) return;
      datasets.push({
        label: m.label, infectionSeverity: severity, type: "scatter", yAxisID: "events", data: points,
        pointStyle: m.style, pointRadius: m.radius, pointHoverRadius: m.radius + 2,
        backgroundColor: m.color, borderColor: m.color,
      });
    });
    const encapsulated = data.infections.filter((i) => i.encapsulated)
      .map((i) => ({ x: ms(i.date), y: 0.08, label: i.label + " (encapsulated bacteria)" }));
    if (encapsulated.length) {
      datasets.push({
        label: "Encapsulated bacteria", type: "scatter", yAxisID: "events", data: encapsulated, pointStyle: "circle",
        pointRadius: 13, backgroundColor: "rgba(0,0,0,0)", borderColor: "#111", borderWidth: 2,
      });
    }
    const bandsPlugin = {
      id: "igwatchBands",
      beforeDatasetsDraw(chart) {
        const { ctx, chartArea, scales } = chart;
        ctx.save();
        data.bands.forEach((band, index) => {
          const left = Math.max(scales.x.getPixelForValue(ms(band.start)), chartArea.left);
          const right = Math.min(scales.x.getPixelForValue(band.end ? ms(band.end) : asOf), chartArea.right);
          if (right <= left) return;
          ctx.fillStyle = BAND_COLORS[band.kind] || "rgba(0,0,0,0.06)";
          ctx.fillRect(left, chartArea.top, right - left, chartArea.bottom - chartArea.top);
          ctx.fillStyle = "#333";
          ctx.font = "11px system-ui, sans-serif";
          ctx.fillText(band.label + (band.end ? "" : " (ongoing)"), left + 4, chartArea.top + 12 + 13 * index);
        });
        const x = scales.x.getPixelForValue(asOf);
        ctx.strokeStyle = "#111";
        ctx.setLineDash([3, 3]);
        ctx.beginPath();
        ctx.moveTo(x, chartArea.top);
        ctx.lineTo(x, chartArea.bottom);
        ctx.stroke();
        const text = "as of " + data.as_of;
        const width = ctx.measureText(text).width;
        ctx.fillText(text, x + 4 + width < chartArea.right ? x + 4 : x - width - 4, chartArea.top + 12);
        ctx.restore();
      },
    };
    window.igwatchChart = new Chart(canvas, {
      data: { datasets: datasets },
      plugins: [bandsPlugin],
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: true,
        interaction: { mode: "nearest", intersect: true },
        scales: {
          x: { type: "linear", min: xMin, max: xMax, ticks: { callback: (v) => iso(v).slice(0, 7), maxTicksLimit: 10 } },
          y: { type: "logarithmic", title: { display: true, text: "mg/dL" } },
          events: { type: "linear", axis: "y", min: 0, max: 1, display: false },
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14, font: { size: 11 } } },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? iso(items[0].parsed.x) : ""),
              label: (item) => {
                const raw = item.raw || {};
                if (raw.label) return raw.label;
                return item.dataset.label + ": " + (raw.comparator || "") + item.parsed.y + " mg/dL";
              },
            },
          },
        },
      },
    });
    canvas.dataset.rendered = "true";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
