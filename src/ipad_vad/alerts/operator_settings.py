"""What an operator gets with an alert and gives back (issue 26, 4 and 5): ``score.evidence``
(settings/score.py) and ``feedback`` (settings/feedback.py), kept with every other section (issue 28, 1);
named here too for the alerts package and its users."""

from ..settings.feedback import FeedbackSettings
from ..settings.score import EvidenceSettings

__all__ = ["EvidenceSettings", "FeedbackSettings"]
