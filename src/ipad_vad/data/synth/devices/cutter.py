"""S03 cutting machine: a sheet is fed under the blade, the blade cuts, the piece is ejected."""

from .base import Device, ease, lerp

CUT_X = 0.55


class Cutter(Device):
    name = "cutter"
    description = "sheet cutting machine"
    steps = (("feed", 0.4), ("cut", 0.3), ("eject", 0.3))
    anomalies = ("color", "shift", "pause", "speed", "order", "missing_step")
    swappable = ((0, 1),)
    skippable = (1,)
    item_color = (180, 180, 60)

    def draw_static(self, c):
        c.rect(0.0, 0.62, 1.0, 0.66, (85, 85, 90))  # bed
        c.rect(CUT_X - 0.1, 0.1, CUT_X + 0.1, 0.2, (60, 70, 90))  # head

    def draw(self, c, s, looks):
        look = looks[s.cycle]
        cut = CUT_X + look.dx  # a shift anomaly cuts in the wrong place
        col = look.color
        if s.step == 0:
            end = lerp(0.25, 0.85, ease(s.u))
            c.rect(0.0, 0.58, end, 0.62, col)
        else:
            c.rect(0.0, 0.58, cut - 0.005, 0.62, col)
            off = lerp(0.0, 0.5, ease(s.u)) if s.step == 2 else 0.0
            c.rect(cut + 0.005 + off, 0.58, 0.85 + off, 0.62, col)
        depth = (1 - abs(2 * s.u - 1)) if s.step == 1 else 0.0
        y = lerp(0.2, 0.6, depth)
        c.rect(cut - 0.015, 0.2, cut + 0.015, y, (200, 205, 215))  # blade
