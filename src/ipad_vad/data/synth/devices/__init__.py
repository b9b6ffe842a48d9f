"""The registry of simulated machines: name -> Device class."""

from .base import Device
from .conveyor import Conveyor
from .crane import Crane
from .cutter import Cutter
from .drill import Drill
from .forklift import Forklift
from .gripper import Gripper
from .labeller import Labeller
from .lift_table import LiftTable
from .piston import Piston
from .press import Press
from .rotary_indexer import RotaryIndexer
from .sorter import Sorter

DEVICES: dict[str, type[Device]] = {
    d.name: d
    for d in (
        Conveyor,
        LiftTable,
        Cutter,
        Drill,
        Gripper,
        Crane,
        Forklift,
        RotaryIndexer,
        Press,
        Sorter,
        Piston,
        Labeller,
    )
}

__all__ = ["DEVICES", "Device"]
