"""S12 labeller: a bottle moves in, the label arm stamps a label on it, the bottle moves on."""

from .base import Device, ease, lerp

X = 0.5


class Labeller(Device):
    name = "labeller"
    description = "bottle labelling machine"
    steps = (("bottle_in", 0.3), ("apply", 0.3), ("bottle_out", 0.4))
    anomalies = ("color", "shift", "tilt", "pause", "speed", "missing_part")
    item_color = (235, 235, 240)  # the label

    def draw_static(self, c):
        c.rect(0.0, 0.7, 1.0, 0.74, (60, 60, 65))  # belt
        c.rect(X - 0.04, 0.02, X + 0.04, 0.14, (70, 80, 100))  # arm housing

    def draw(self, c, s, looks):
        look = looks[s.cycle]
        x = {0: lerp(-0.1, X, ease(s.u)), 2: lerp(X, 1.1, ease(s.u))}.get(s.step, X)
        c.rect(x - 0.07, 0.4, x + 0.07, 0.7, (60, 130, 80))  # bottle
        c.rect(x - 0.03, 0.3, x + 0.03, 0.4, (60, 130, 80))
        labelled = s.step == 2 or (s.step == 1 and s.u > 0.5)
        if labelled and not look.missing:
            with c.transform(0, look.dx * 0.6 if look.anomaly == "shift" else 0, look.angle, center=(x, 0.55)):
                c.rect(x - 0.07, 0.5, x + 0.07, 0.6, look.color)
        depth = (1 - abs(2 * s.u - 1)) if s.step == 1 else 0.0
        c.rect(X - 0.02, 0.14, X + 0.02, lerp(0.2, 0.42, depth), (150, 150, 160))
