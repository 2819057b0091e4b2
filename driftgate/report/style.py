"""The report's stylesheet, inlined into the page (no external assets)."""

CSS = """
:root { color-scheme: light; --ink: #1d2327; --muted: #5f6b76; --line: #d9dee3; --soft: #f4f6f8;
  --ok: #0b6e4f; --ok-bg: #dff3ea; --warn: #8a5300; --warn-bg: #fdf0d5; --bad: #a4262c; --bad-bg: #fbe3e4;
  --info: #005a8e; --info-bg: #e1eef7; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 24px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: var(--muted); }
h2 { margin: 36px 0 8px; padding-bottom: 6px; border-bottom: 2px solid var(--line); font-size: 20px; }
h3 { margin: 22px 0 8px; font-size: 16px; }
p.lead, p.note { color: var(--muted); margin: 4px 0 12px; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 12px; margin: 20px 0 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--soft); }
.card dt { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card dd { margin: 4px 0 0; font-size: 17px; font-weight: 600; }
.card dd .verdict { display: block; }
.card dd small { display: block; font-weight: 400; font-size: 13px; color: var(--muted); }
figure { margin: 12px 0; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 2px; }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart .plot { fill: #fcfcfd; stroke: var(--line); }
svg.chart .grid { stroke: #e7eaee; stroke-width: 1; }
svg.chart text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--muted); }
svg.chart .axis-label { font-size: 12px; fill: var(--ink); }
svg.chart .legend { font-size: 13px; fill: var(--ink); }
svg.bars { display: block; }
svg.bars text { font: 11px system-ui, sans-serif; fill: var(--muted); }
.table-wrap { overflow-x: auto; margin: 8px 0 4px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
caption { text-align: left; color: var(--muted); font-size: 13px; padding-bottom: 6px; }
th, td { text-align: left; vertical-align: top; padding: 7px 10px; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; font-size: 13px; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.nowrap { white-space: nowrap; }
.detail { display: block; min-width: 18em; }
.sub { display: block; color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
code.uri { word-break: break-all; font-size: 12px; }
nav { margin: 8px 0 0; font-size: 14px; }
nav a { color: var(--info); text-decoration: none; }
nav a:hover, nav a:focus { text-decoration: underline; }
table.compact td, table.compact th { padding: 5px 8px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
  white-space: nowrap; border: 1px solid transparent; }
.badge.ok { color: var(--ok); background: var(--ok-bg); border-color: #a6dcc4; }
.badge.warn { color: var(--warn); background: var(--warn-bg); border-color: #efcf8f; }
.badge.bad { color: var(--bad); background: var(--bad-bg); border-color: #f0b3b6; }
.badge.info { color: var(--info); background: var(--info-bg); border-color: #a9cbe4; }
.badge.muted { color: var(--muted); background: var(--soft); border-color: var(--line); }
ul.examples { margin: 0; padding-left: 18px; }
ul.examples li { margin: 0 0 4px; max-width: 56ch; }
ul.examples .from { color: var(--muted); font-size: 12px; }
ul.reasons { margin: 4px 0 0; padding-left: 18px; }
.empty { padding: 14px 16px; border: 1px dashed var(--line); border-radius: 8px; color: var(--muted);
  background: #fcfcfd; }
details { margin: 8px 0; }
details > summary { cursor: pointer; color: var(--info); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media print { details { display: block; } details > summary { display: none; } h2 { break-after: avoid; } }
"""
