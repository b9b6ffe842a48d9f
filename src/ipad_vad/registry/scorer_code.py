"""The registered model's code, for MLflow's models-from-code (issue 16, 9).

``log_scorer`` logs this file, not a pickled Python object: MLflow copies it into the model and runs
it on load, so a registry entry holds the method's weights, settings and calibration as plain files
plus this code, and loading one never unpickles executable objects. The scorer itself is
``IpadScorer`` of the installed ipad-vad (``registry/pyfunc_model.py``); it builds the method's model
from the version's artifacts in ``load_context``.
"""

import mlflow

from ipad_vad.registry.pyfunc_model import IpadScorer

mlflow.models.set_model(IpadScorer())
