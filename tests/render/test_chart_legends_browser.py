"""Chart labels neither overlap nor run out of the chart (issue 16, item 6): the SVG text boxes
measured in headless Chromium, in the reports' fonts and in DejaVu Sans (wider), for the labels
the IMS reports carry ("Long-term sick or disabled" beside "Student", "Growth hormone" last
on a line) and for labels longer than any line."""

from __future__ import annotations

import pytest

from atlas.render.charts import line_chart, stacked_bars

EMPLOYMENT = [
    "Unemployed",
    "Long-term sick or disabled",
    "Student",
    "Full time employment",
    "Part time employment",
    "Economically inactive",
    "Growth hormone",
    "Voluntary work",
    "Other",
    "Not stated",
]
ROWS = [
    ("All individuals", 100.0, [20.0, 15.0, 5.0, 10.0, 10.0, 10.0, 10.0, 5.0, 5.0, 10.0]),
    ("PWID: psychoactive drugs", 50.0, [10.0, None, 5.0, 5.0, 5.0, 5.0, 5.0, None, 5.0, 5.0]),
    ("A cohort with a label far too long for the space beside the bars", None, []),
]
LONG = "Anabolic-androgenic-steroids-and-other-image-and-performance-enhancing-drugs"

# every <text> of every chart: its box, and the chart's
MEASURE = """
return [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  return {chart: [box.left, box.top, box.right, box.bottom],
          texts: [...svg.querySelectorAll('text')].map(t => {
            const r = t.getBoundingClientRect();
            return [t.textContent, r.left, r.top, r.right, r.bottom];
          })};
});
"""


def _page(tmp_path, font: str) -> str:
    charts = [
        stacked_bars("Employment", ROWS, EMPLOYMENT),
        stacked_bars("Main substance", ROWS[:1], [LONG, *EMPLOYMENT[1:]]),
        line_chart(
            "Individuals",
            ["2015-16", "2016-17", "2017-18"],
            [
                ("All individuals", [1.0, 2.0, 3.0]),
                ("PWID: psychoactive drugs", [1.0, None, 2.0]),
                ("PWID: steroids & IPEDs", [0.0, 1.0, 1.0]),
                ("BI: drug or alcohol (brief interventions for drug or alcohol use)", [1, 1, 1]),
                (LONG, [2.0, 2.0, 2.0]),
            ],
        ),
    ]
    page = tmp_path / "charts.html"
    page.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><style>body {{ font: 14px {font}; "
        "width: 640px; } svg.chart { max-width: 640px; display: block; }</style></head><body>"
        + "".join(charts)
        + "</body></html>",
        encoding="utf-8",
    )
    return page.as_uri()


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


@pytest.mark.parametrize("font", ['"Segoe UI", Arial, sans-serif', '"DejaVu Sans"'])
def test_no_chart_label_overlaps_another_or_is_cut(browser, tmp_path, font):
    browser.get(_page(tmp_path, font))
    charts = browser.execute_script(MEASURE)
    assert len(charts) == 3
    for chart in charts:
        left, top, right, bottom = chart["chart"]
        texts = [t for t in chart["texts"] if t[0].strip()]
        for text, *box in texts:
            assert left - 0.5 <= box[0] and box[2] <= right + 0.5, f"{text!r} is cut: {box}"
            assert top - 0.5 <= box[1] and box[3] <= bottom + 0.5, f"{text!r} is cut: {box}"
        for i, (a_text, *a) in enumerate(texts):
            for b_text, *b in texts[i + 1 :]:
                assert not _overlap(a, b), f"{a_text!r} overlaps {b_text!r}"
    # every word of every label is shown (wrapped, never cut short with an ellipsis)
    shown = " ".join(t[0] for c in charts for t in c["texts"])
    for label in ["Long-term", "sick or", "disabled", "Growth", "hormone", "Student", "the bars"]:
        assert label in shown
    assert "…" not in shown
