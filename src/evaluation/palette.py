"""The workbench's one colour palette, at the bottom of the package so every wing's figures and the
reports' style can use it (methods, mixed and qualitative may not import reports).

>>> OKABE_ITO["blue"]
'#0072B2'
"""

from __future__ import annotations

__all__ = ["OKABE_ITO"]

# Okabe & Ito (2008), "Color universal design": distinguishable with every common colour-vision
# deficiency and in greyscale print (ordered so the first colours differ most in lightness).
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish_green": "#009E73",
    "vermillion": "#D55E00",
    "sky_blue": "#56B4E9",
    "reddish_purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}
