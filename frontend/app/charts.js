// Charts read their data from a JSON <script type="application/json"> element next to them, so pages
// need no inline script. ECharts is loaded from its own file only on pages that have a chart.
export function initCharts(root) {
  root.querySelectorAll("[data-chart]").forEach((el) => {
    if (el.dataset.chartReady || !window.echarts) return;
    el.dataset.chartReady = "1";
    const spec = JSON.parse(document.getElementById(el.dataset.chart).textContent);
    const chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 16, right: 16, top: 40, bottom: 16, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      xAxis: { type: "category", data: spec.labels },
      yAxis: spec.axes.map((axis) => ({ type: "value", name: axis.name, splitLine: { show: axis.grid !== false } })),
      series: spec.series.map((s) => ({ name: s.name, type: s.type || "bar", yAxisIndex: s.axis || 0, data: s.data, smooth: true })),
      color: ["#2f6f8f", "#e39b2d", "#6a9f58", "#b85c5c"],
    });
    window.addEventListener("resize", () => chart.resize());
  });
}
