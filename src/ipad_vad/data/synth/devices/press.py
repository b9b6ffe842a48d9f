"""S09 press: a blank slides under the ram, the ram presses it flat, rises, the part is ejected."""

from ..shapes import draw_item
from .base import Device, ease, lerp

X = 0.5


class Press(Device):
    name = "press"
    description = "hydraulic press"
    steps = (("feed", 0.25), ("press", 0.2), ("dwell", 0.1), ("rise", 0.2), ("eject", 0.25))
    anomalies = ("color", "shape", "shift", "pause", "speed", "missing_step")
    skippable = (1,)
    item_kind, item_color = "box", (190, 70, 120)

    def draw_static(self, c):
        c.rect(0.18, 0.06, 0.26, self.floor_y, (60, 65, 75))
        c.rect(0.74, 0.06, 0.82, self.floor_y, (60, 65, 75))
        c.rect(0.18, 0.06, 0.82, 0.14, (60, 65, 75))
        c.rect(0.26, 0.7, 0.74, 0.76, (90, 95, 105))  # anvil

    def draw(self, c, s, looks):
        look = looks[s.cycle]
        ram = {1: ease(s.u), 2: 1.0, 3: 1 - ease(s.u)}.get(s.step, 0.0)
        flat = s.step >= 2 or (s.step == 1 and s.u > 0.6)
        x = {0: lerp(-0.1, X, ease(s.u)), 4: lerp(X, 1.15, ease(s.u))}.get(s.step, X)
        if not look.missing:
            with c.transform(look.dx, 0, look.angle, center=(x, 0.65)):
                if flat:
                    c.rect(x - 0.13, 0.66, x + 0.13, 0.7, look.color)
                else:
                    draw_item(c, look.kind, x, 0.62, 0.08, look.color)
        bottom = lerp(0.4, 0.66 if flat else 0.54, ram)
        c.rect(0.3, 0.14, 0.7, bottom, (150, 150, 160))  # ram
