"""Fixed colours: one per explainer on every chart, and word-cloud colours that read on white.

An explainer's colour depends only on its name: the registered explainers
(:data:`core.explain.registry.EXPLAINERS`, in registration order) take the colours of
:data:`EXPLAINER_PALETTE` in turn, so ``lime`` is the same colour on every chart, in every run and
whichever explainers a chart shows; a name that is not registered gets a colour of the same
palette picked by a hash of the name (stable across processes, unlike Python's ``hash``).

Contrast follows WCAG 2.x: :func:`relative_luminance` and :func:`contrast_ratio`; every colour
here has at least 3:1 against white (the WCAG minimum for large text and graphics).
"""

from __future__ import annotations

import hashlib
import re

# plotly's qualitative Dark24: 24 distinct colours, each with contrast >= 3:1 on white
EXPLAINER_PALETTE = (
    "#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#222A2A", "#B68100", "#750D86",
    "#EB663B", "#511CFB", "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE",
    "#862A16", "#A777F1", "#620042", "#1616A7", "#DA60CA", "#6C4516", "#0D2A63", "#AF0038",
)
# viridis at 0.0, 0.05, ..., 0.5 (dark purple, blue, teal): its yellow-green half (contrast < 3.9:1) left out
CLOUD_COLORS = ("#440154", "#471365", "#482475", "#463480", "#414487", "#3b528b", "#355f8d", "#2f6c8e",
                "#2a788e", "#25848e", "#21918c")
MIN_CONTRAST = 3.0
DARK_TEXT, LIGHT_TEXT = "#111", "#fff"


def _rgb(color: str) -> tuple[float, float, float]:
    """``#rrggbb`` (or ``#rgb``) as red, green, blue in [0, 1]."""
    value = color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) != 6:
        raise ValueError(f"expected a #rrggbb colour, got {color!r}")
    return tuple(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour: 0 (black) to 1 (white)."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in _rgb(color))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def css_over_white(css_color: str) -> str:
    """A CSS ``rgb(...)``/``rgba(...)``/``#rrggbb`` colour as the ``#rrggbb`` seen over a white page."""
    if css_color.startswith("#"):
        return css_color
    values = [float(v) for v in re.findall(r"[\d.]+", css_color)]
    alpha = values[3] if len(values) > 3 else 1.0
    seen = [round(alpha * c + (1 - alpha) * 255) for c in values[:3]]
    return "#" + "".join(f"{min(max(c, 0), 255):02x}" for c in seen)


def readable_text_color(css_color: str) -> str:
    """``#111`` or ``#fff``, whichever contrasts more with the chip colour ``css_color`` seen over white."""
    seen = css_over_white(css_color)
    return DARK_TEXT if contrast_ratio(DARK_TEXT, seen) >= contrast_ratio(LIGHT_TEXT, seen) else LIGHT_TEXT


def contrast_ratio(color: str, background: str = "#ffffff") -> float:
    """WCAG contrast ratio (L_lighter + 0.05) / (L_darker + 0.05), from 1 to 21."""
    lighter, darker = sorted((relative_luminance(color), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _registered() -> tuple[str, ...]:
    from core.explain.registry import EXPLAINERS

    return tuple(EXPLAINERS)


def explainer_color(name: str) -> str:
    """The fixed colour of explainer ``name`` (registered: by registration order; else by a hash of the name)."""
    names = _registered()
    if name in names:
        return EXPLAINER_PALETTE[names.index(name) % len(EXPLAINER_PALETTE)]
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return EXPLAINER_PALETTE[int.from_bytes(digest[:4], "big") % len(EXPLAINER_PALETTE)]


def explainer_colors(names) -> dict[str, str]:
    """``{name: explainer_color(name)}`` for each of ``names``."""
    return {name: explainer_color(name) for name in names}


def cloud_colormap():
    """A matplotlib colormap that yields only :data:`CLOUD_COLORS` (what word clouds draw words with)."""
    from matplotlib.colors import ListedColormap

    return ListedColormap(list(CLOUD_COLORS), name="masklens-cloud")
