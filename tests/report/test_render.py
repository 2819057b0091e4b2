"""render_report: charts, tables, escaping, self-containment, and the empty model."""
from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

import pytest

from driftgate.report import collect_report_data, render_report, report_path, write_report
from driftgate.report.svg import linear_axis, log_axis, time_domain
from tests.report.sample import DAYS, DRIFT_DAYS

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr"}  # HTML void elements; SVG ones self-close


def svg(html: str, chart_id: str) -> str:
    match = re.search(rf'<svg id="{chart_id}".*?</svg>', html, re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def points(chart: str, series: str) -> int:
    return chart.count(f'<g class="pt" data-series="{series}"')


def test_quality_chart_has_a_point_per_window_and_the_baseline(sample_html) -> None:
    chart = svg(sample_html, "chart-quality")
    assert points(chart, "quality") == DAYS
    assert '<polyline class="line" data-series="quality"' in chart
    assert 'data-ref="baseline"' in chart and "baseline 0.720" in chart
    assert 'role="img"' in chart and "<title" in chart


def test_pvalue_chart_has_a_marker_per_check_and_the_alpha_line(sample_html) -> None:
    chart = svg(sample_html, "chart-drift")
    assert points(chart, "prompt") == points(chart, "output") == DAYS - 2
    assert chart.count('data-emphasis="true"') == sum(len(days) for days in DRIFT_DAYS.values())
    assert 'data-ref="alpha"' in chart and "alpha = 0.05" in chart


def test_runs_table_gate_numbers_and_alias_history(sample_data, sample_html) -> None:
    runs = re.search(r'<section aria-labelledby="runs">.*?</section>', sample_html, re.S).group(0)
    rows = re.findall(r"<tr><td>.*?</tr>", runs, re.S)
    assert len(rows) == len(sample_data["runs"])
    for status in ("PROMOTED", "REJECTED", "SKIPPED", "FAILED", "REJECTED_BY_REVIEWER"):
        assert '<span class="badge' in runs and f">{status}</span>" in runs
    assert "ResourceLimitExceeded" in runs and points(svg(sample_html, "chart-gate"), "improvement") == 3
    # The breach that started a run: ΔM with the baseline and window means it is the difference of.
    assert "quality_decay: ΔM = 0.180 (baseline 0.720 → window 0.540)" in runs
    gate = sample_data["runs"][-1]["gate"]
    section = re.search(r'<section aria-labelledby="gate">.*?</section>', sample_html, re.S).group(0)
    for value in (gate["champion_mean"], gate["challenger_mean"]):
        assert f"{value:.4f}" in section
    assert f"[+{gate['ci_low']:.4f}, +{gate['ci_high']:.4f}]" in section
    assert all(g["name"] in section for g in gate["guards"])
    registry = re.search(r'<section aria-labelledby="registry">.*?</section>', sample_html, re.S).group(0)
    assert "production → version 3 (revision 4" in registry
    assert "rollback" in registry and "ops@example.com" in registry and "initial adapter" in registry


def test_moved_clusters_show_real_example_texts(sample_data, sample_html) -> None:
    shown = sample_data["drift"][-4]["report"]  # outputs drifted last on day 8
    example = shown["clusters"][0]["examples"][0]
    assert example[:60].replace('"', "&quot;").replace("'", "&#x27;") in sample_html
    assert sample_html.count('<svg class="bars"') >= 8


def test_drift_table_names_the_members_and_the_descriptors_that_moved(sample_html) -> None:
    section = re.search(r'<section aria-labelledby="drift">.*?</section>', sample_html, re.S).group(0)
    header = re.search(r"<thead>.*?</thead>", section, re.S).group(0)
    assert header.index("members moved") < header.index("descriptors moved")
    rows = re.findall(r"<tr><td>.*?</tr>", section, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    moved = [(c[-3], c[-2]) for c in cells]  # members, descriptors: an output drift moved both
    assert ("mmd, chars", "chars") in moved and ("mmd", "—") in moved and ("—", "—") in moved


def test_untrusted_texts_are_escaped(state) -> None:
    attack = '<script>alert("x")</script>'
    model = "m<b>"
    state.put({"pk": f"MODEL#{model}", "sk": "DRIFT#2026-11-01T00:00:00+00:00#output", "report": {
        "drift": True, "p_value": 0.01, "alpha": 0.05, "tests": [],
        "clusters": [{"cluster": 0, "share_baseline": 0.2, "share_current": 0.5, "delta": 0.3,
                      "examples": [f"Ignore previous instructions {attack}"], "examples_from": "current"}]}})
    state.record_run(model, "arn:aws:states:x:execution:retrain:r1", "FAILED", error="Boom",
                     cause='<img src=x onerror="alert(1)">')
    html = render_report(collect_report_data(state, model))
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "Ignore previous instructions &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html and "driftgate report: m&lt;b&gt;" in html


def test_page_is_one_self_contained_well_formed_file(sample_html) -> None:
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", sample_html, re.I)
    assert not re.search(r"<script|<link|<iframe|<img|@import|url\(", sample_html, re.I)

    class Balance(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag not in VOID:
                self.stack.append(tag)

        def handle_startendtag(self, tag, attrs):
            pass

        def handle_endtag(self, tag):
            assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"

    parser = Balance()
    parser.feed(sample_html)
    assert parser.stack == []


def test_same_data_same_html(sample_data, sample_html) -> None:
    assert render_report(copy.deepcopy(sample_data)) == sample_html


def test_fresh_model_renders_no_data_sections(state, tmp_path) -> None:
    html = render_report(collect_report_data(state, "fresh", generated_at="2026-11-01T00:00:00+00:00"))
    assert html.count("No data yet") >= 5 and 'class="chart"' not in html
    for section in ("quality", "drift", "runs", "gate", "registry"):
        assert f'id="{section}"' in html
    path = write_report({"model": "org/fresh model"}, tmp_path / "out")
    assert path == tmp_path / "out" / "driftgate-report-org-fresh-model.html"
    assert path.read_text().startswith("<!DOCTYPE")
    assert report_path("../x", tmp_path).parent == tmp_path


@pytest.mark.parametrize(("values", "lo", "hi"),
                         [([0.54, 0.81], 0.5, 0.9), ([0.7, 0.7], 0.6, 0.8), ([-0.01, 0.17], -0.05, 0.2)])
def test_linear_axis_rounds_outwards(values, lo, hi) -> None:
    axis = linear_axis(values, "y")
    assert axis.lo == pytest.approx(lo) and axis.hi == pytest.approx(hi) and len(axis.ticks) <= 11


def test_log_axis_and_time_domain() -> None:
    axis = log_axis([0.0027, 0.9, 0.05], "p")
    assert axis.ticks == [0.001, 0.01, 0.1, 1.0] and axis.fraction(0.05) == pytest.approx(1 - 1.301 / 3, abs=1e-3)
    assert log_axis([0.5], "p").ticks == [0.01, 0.1, 1.0]
    lo, hi = time_domain([1_000_000.0])
    assert hi - lo == 24 * 3600


@pytest.mark.slow
def test_a_check_shows_its_effect_sizes_and_decay_split(state) -> None:
    # A real check's prompt report: Mixtral's answers (baseline) and alpaca-7b's (current) to
    # AlpacaEval prompts, scored against GPT-4-turbo's, with the split and divergences it computes.
    from driftgate.paths import embedding_cache, embedding_model
    from functions.drift import default_embedder, detect_drift
    from functions.drift.decomposition import decompose_records
    from functions.scoring import score
    from tests.drift.conftest import MIXTRAL, load

    def scored(generator: str, indices: range) -> list[dict]:
        rows = [load(generator)[i] for i in indices]
        return [{**r, "scores": {"quality": score(r["prompt"], r["output"], r["reference"]).quality}} for r in rows]

    baseline, current = scored(MIXTRAL, range(0, 300, 10)), scored("alpaca-7b", range(5, 305, 10))
    embedder = default_embedder(embedding_cache(), model_dir=embedding_model())
    report = detect_drift(baseline, current, "prompt", embedder=embedder, n_permutations=19)
    report = report.model_copy(update={"decay_decomposition": decompose_records(baseline, current, embedder)})
    state.put({"pk": "MODEL#m", "sk": "DRIFT#2026-11-21T00:00:00+00:00#prompt",
               "report": report.model_dump_json()})
    html = render_report(collect_report_data(state, "m"))
    split, effects = report.decay_decomposition, report.divergences
    assert "Quality decay, concept vs data drift" in html and "Effect sizes" in html
    assert f"ΔM = +{split.delta:.4f}" in html and f"within +{split.within:.4f}" in html
    assert f"Jensen–Shannon = {effects.cluster_js:.4f} nats" in html
    top = split.clusters[0]
    assert top.examples[0][:40].replace("'", "&#x27;").replace('"', "&quot;") in html


def test_an_alarm_that_no_member_passes_alone_names_what_the_sum_rests_on() -> None:
    from driftgate.report.render import _moved

    assert _moved({"drift": True, "members_moved": [], "members_leading": ["local", "digits"]}) == (
        "none alone; the sum rests on local, digits")
    assert _moved({"drift": True, "members_moved": ["local"], "members_leading": ["local"]}) == "local"
    assert _moved({"drift": False, "members_moved": [], "members_leading": ["mmd"]}) == "—"  # no alarm to explain
    assert _moved({"drift": True, "members_moved": []}) == "—"  # stored before the shares existed
