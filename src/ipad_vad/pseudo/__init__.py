"""Pseudo-anomalies (seed 002): anomalous-looking clips made from normal footage only.

``masks`` (random and shape-following masks), ``inpainters`` (pluggable F_s of eq. 2), ``spatial``
(spatial PAs), ``temporal`` (flow mixup of eq. 3, frame-order PAs), ``mixing`` (PAs in a training
batch with a method's probabilities), ``settings`` (the typed ``pseudo_anomalies`` section) and
``contact_sheet`` (``ipad data preview --pseudo``). Pure functions of their inputs and a numpy
generator: the same seed gives the same PA.
"""
