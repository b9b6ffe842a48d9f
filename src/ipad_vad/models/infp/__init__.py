"""INFP (seed 001, Yu et al., IJCAI 2025): frequency-prioritised future-frame prediction.

One idea per file: the wide ResNet encoder f_e (``wide_resnet.py``), the temporal shift of the
spatio-temporal branch (``temporal_shift.py``, eq. 15), the frequency branch (``frequency_branch.py``,
eq. 8-14), the context fusion with its bias correction (``context_fusion.py``, eq. 17), channel
gating (``channel_gate.py``, eq. 3 and the gates of eq. 11-12 and 17), the trajectory filter
(``trajectory_filter.py``, eq. 18-21) and the network that composes them (``network.py``, eq. 1-4, 16).
"""

from .network import INFP, INFPConfig  # noqa: F401
