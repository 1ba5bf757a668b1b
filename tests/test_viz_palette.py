"""Fixed explainer colours, word-cloud colours against white (WCAG contrast) and the loss legend."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from core.viz import palette
from tests.test_app import REPO_ROOT


def wcag_contrast(color: str, background: str = "#ffffff") -> float:
    """WCAG 2.x contrast ratio, written out here independently of core.viz.palette."""
    def luminance(hex_color: str) -> float:
        channels = [int(hex_color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(color), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rgb_to_hex(rgb: str) -> str:
    """``rgb(r, g, b)`` (what wordcloud gives) as ``#rrggbb``."""
    values = [int(v) for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")]
    return "#" + "".join(f"{v:02x}" for v in values)


def test_wcag_formula_on_known_pairs():
    assert wcag_contrast("#000000") == pytest.approx(21.0)
    assert wcag_contrast("#ffffff") == pytest.approx(1.0)
    assert wcag_contrast("#777777") == pytest.approx(4.48, abs=0.01)  # the classic just-below-AA grey
    assert wcag_contrast("#767676") == pytest.approx(4.54, abs=0.01)
    for color in ("#000000", "#777777", "#fde725", "#21918c"):
        assert palette.contrast_ratio(color) == pytest.approx(wcag_contrast(color))
    assert wcag_contrast("#fde725") < 1.5  # viridis' yellow, which the clouds used to draw words in


def test_every_cloud_colour_has_3_to_1_contrast_on_white():
    assert all(wcag_contrast(c) >= 3.0 for c in palette.CLOUD_COLORS), [
        (c, round(wcag_contrast(c), 2)) for c in palette.CLOUD_COLORS]
    from matplotlib.colors import to_hex

    colormap = palette.cloud_colormap()
    drawn = {to_hex(colormap(x)) for x in np.linspace(0, 1, 1001)}  # what wordcloud samples, uniform in [0, 1]
    assert drawn == {c.lower() for c in palette.CLOUD_COLORS}


def test_a_drawn_cloud_uses_only_those_colours():
    from core.viz.importance import word_cloud

    words = [f"word{i}" for i in range(60)]
    cloud = word_cloud(words, np.linspace(1.0, 0.1, 60), top_k=60, width=300, height=200, seed=1)
    colors = {rgb_to_hex(color) for *_, color in cloud.layout_}
    assert len(colors) > 3
    assert min(wcag_contrast(c) for c in colors) >= 3.0


def test_explainer_colours_are_fixed_by_registration_order_and_distinct():
    from core.explain.registry import EXPLAINERS

    names = list(EXPLAINERS)
    colors = [palette.explainer_color(name) for name in names]
    assert colors == [palette.explainer_color(name) for name in names]  # stable across calls
    assert colors == list(palette.EXPLAINER_PALETTE[:len(names)])  # registration order over the palette
    assert len(set(colors)) == len(names)  # one colour each
    assert all(wcag_contrast(c) >= 3.0 for c in palette.EXPLAINER_PALETTE)
    assert palette.explainer_colors(["lime", "zero"]) == palette.explainer_colors(["zero", "lime"])


def test_an_unknown_explainer_gets_a_stable_hashed_colour():
    digest = hashlib.sha256(b"my-explainer").digest()
    expected = palette.EXPLAINER_PALETTE[int.from_bytes(digest[:4], "big") % len(palette.EXPLAINER_PALETTE)]
    assert palette.explainer_color("my-explainer") == expected
    other = subprocess.run([sys.executable, "-c", "from core.viz.palette import explainer_color; "
                            "print(explainer_color('my-explainer'))"], cwd=REPO_ROOT, capture_output=True,
                           text=True, check=True, env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert other.stdout.strip() == expected  # the same in another process (not Python's salted hash)


def test_faithfulness_charts_colour_an_explainer_the_same_whatever_the_records():
    from core.viz.faithfulness import aopc_figure

    def records(names):
        return [{"explainer": n, "n": 1, "metrics": {"aopc": {"value": 0.1, "per_k": [0.1], "k_max": 1}}}
                for n in names]

    first = {t.name: t.line.color for t in aopc_figure(records(["zero", "lime"])).data}
    second = {t.name: t.line.color for t in aopc_figure(records(["lime", "vmask", "zero"])).data}
    assert first["lime"] == second["lime"] == palette.explainer_color("lime")
    assert first["zero"] == second["zero"] != second["vmask"]


def test_loss_legend_says_loss_per_step_or_moving_average_over_n_steps():
    from core.viz.training import loss_figure, smoothed_label, smoothing_window

    assert smoothed_label(1) == "loss per step"
    assert smoothed_label(5) == "moving average over 5 steps"
    assert smoothing_window(None) == 5 and smoothing_window(3) == 1 and smoothing_window(120) == 12
    short = loss_figure([0.9, 0.7, 0.6, 0.5], steps_per_epoch=3)  # window 1
    legend = [t.name for t in short.data if t.showlegend is not False]
    assert legend == ["loss per step"]
    long = loss_figure(list(np.linspace(1, 0.1, 200)), steps_per_epoch=100)
    assert [t.name for t in long.data] == ["loss per step", "moving average over 10 steps"]
    names = " ".join(t.name for fig in (short, long) for t in fig.data)
    assert "(1 steps)" not in names and "average (" not in names


@pytest.mark.parametrize("chip, text", [("rgba(214,39,40,1.000)", "#fff"), ("rgba(214,39,40,0.200)", "#111"),
                                        ("rgba(160,160,160,0.700)", "#111"), ("rgba(106,61,154,0.900)", "#fff"),
                                        ("#ffffff", "#111"), ("#fff", "#111"), ("#111", "#fff")])
def test_chip_text_is_whichever_of_dark_or_white_contrasts_more(chip, text):
    from core.viz.palette import contrast_ratio, css_over_white, readable_text_color

    assert readable_text_color(chip) == text
    other = "#111111" if text == "#fff" else "#ffffff"
    chosen = "#111111" if text == "#111" else "#ffffff"
    assert contrast_ratio(chosen, css_over_white(chip)) >= contrast_ratio(other, css_over_white(chip))
