"""S10 sorter: two items per cycle, a red and a blue one, arrive on a belt; a diverter sends red
items to the upper chute and blue ones to the lower chute. A sorting error sends one the wrong way."""

from .base import Device, ease, lerp

RED, BLUE = (210, 50, 50), (50, 80, 210)
DIVERT_X = 0.55


class Sorter(Device):
    name = "sorter"
    description = "colour sorter with a diverter"
    steps = (("arrive_a", 0.3), ("divert_a", 0.2), ("arrive_b", 0.3), ("divert_b", 0.2))
    anomalies = ("color", "shift", "pause", "speed", "sorting")
    item_kind, item_color = "disc", RED

    def draw_static(self, c):
        c.rect(0.0, 0.5, DIVERT_X, 0.56, (60, 60, 65))  # belt
        c.line((DIVERT_X, 0.5), (1.0, 0.25), (80, 80, 85), 0.05)  # upper chute
        c.line((DIVERT_X, 0.56), (1.0, 0.8), (80, 80, 85), 0.05)  # lower chute

    def draw(self, c, s, looks):
        look = looks[s.cycle]
        first = s.step < 2
        base = RED if first else BLUE
        color = look.color if look.anomaly == "color" and first else base
        up = first != (look.sort_wrong and not first)  # the error hits the blue item
        dy_arm = -0.12 if up else 0.12
        arm_u = ease(s.u) if s.step in (1, 3) else 0.0
        c.line((DIVERT_X, 0.53), (DIVERT_X + 0.14, 0.53 + dy_arm * arm_u), (200, 200, 60), 0.025)
        if s.step in (0, 2):
            x, y = lerp(-0.05, DIVERT_X - 0.02, s.u), 0.46
        else:
            x = lerp(DIVERT_X, 1.05, s.u)
            y = 0.46 + (-0.5 if up else 0.5) * (x - DIVERT_X) * 0.6
        dx = look.dx if look.anomaly == "shift" else 0.0
        c.circle(x, y + dx * 0.5, 0.045, color)  # shift: the item rides off the belt's centre line
