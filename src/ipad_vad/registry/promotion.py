"""Promotion: a new version becomes `champion` only if its AUC reaches `min_auc` (a detector no
better than a coin is no detector: issue 12) and beats the current champion's by at least `margin`
(with the default 0 a tie goes to the newer version: the same model recalibrated — a new alert
threshold, the same AUC — replaces its champion; until 2026-12-06 it stayed challenger and the registry
kept serving the old threshold); otherwise it is aliased `challenger`. AUCs here are in percent, as everywhere an operator reads one
(logs, report, MLflow metrics and tags: issue 29): `min_auc` 70 (``pipeline.promote_min_auc``),
`margin` in points, the version's ``auc_pct`` tag. Versions are never deleted or overwritten, so a worse model
never replaces a better one and every earlier model stays reachable.

A device is *usable* when it has a champion whose AUC reaches `min_auc`; ``ipad score --device``
refuses a device that is not (inference/champion.py), ``ipad registry list`` and the report say so.

Alerts before AUC (``pipeline.promote_alerting``, issue 26: a plant judges a detector by its alarms):
a version *alerts* when its calibrated threshold — set on normal footage only — raises an alert on at
least one of the device's labelled anomalous spans (``ALERTS_TAG``; unknown where the test footage has
no labelled span). Among the candidates that reach `min_auc`, one that alerts is preferred to one that
does not, whatever their AUCs; and a champion that alerts is replaced only by a version that alerts,
one that does not by any version that does. AUC (with `margin`) decides between equals. Why: on the
demo of 2026-12-06 R04's best AUC (IPAD-VAD, 85.0 against the reference's 80.7) alerted none of its 11
spans at its threshold, the reference 2 — a champion that never rings is not what the plant wants."""

from __future__ import annotations

from dataclasses import dataclass

CHAMPION, CHALLENGER = "champion", "challenger"
AUC_TAG = "auc_pct"  # a version's AUC in percent (scene norm, combined score on its device's test footage)
LEGACY_AUC_TAG = "auc"  # versions registered before issue 29: the AUC as a fraction
ALERTS_TAG = "alerts_on_test"  # "true" | "false": its threshold alerted a labelled anomalous span of the device
RECALL_TAG = "recall_measured_test"  # versions registered before ALERTS_TAG: 0 = no anomalous frame above the threshold


@dataclass
class Decision:
    name: str
    version: str
    auc: float
    alias: str
    previous_champion: str | None
    previous_auc: float | None
    min_auc: float = 0.0
    alerts: bool | None = None  # the version's threshold alerted a labelled span (None: not known)

    @property
    def usable(self) -> bool:
        """The version reaches the minimum AUC (it may still be challenger by the margin rule)."""
        return usable(self.auc, self.min_auc)

    @property
    def promoted(self) -> bool:
        return self.alias == CHAMPION


def _alias_version(client, name: str, alias: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def usable(auc: float | None, min_auc: float) -> bool:
    return auc is not None and auc >= min_auc


def version_auc(version) -> float | None:
    """The AUC in percent a registered version was promoted with (its ``auc_pct`` tag; a version
    registered before it holds ``auc``, a fraction), None when it has none."""
    if version is None:
        return None
    if AUC_TAG in version.tags:
        return float(version.tags[AUC_TAG])
    if LEGACY_AUC_TAG in version.tags:
        return round(100.0 * float(version.tags[LEGACY_AUC_TAG]), 4)
    return None


def alerts_on_test(evaluation: dict) -> bool | None:
    """Whether an evaluation's calibrated threshold alerted any of the device's labelled anomalous
    spans (its ``alerts`` section, jobs/evaluate.py); None when the test footage holds none or the
    alerts were not measured (nothing to tell)."""
    a = evaluation.get("alerts", {})
    return a["spans_alerted"] > 0 if a.get("anomalous_spans", 0) > 0 else None


def version_alerts(version) -> bool | None:
    """Whether a registered version's threshold alerted a labelled span (``ALERTS_TAG``); a version
    registered before the tag: False when its measured recall is 0 (no anomalous frame reached the
    threshold, so no alert could), else None."""
    if version is None:
        return None
    if ALERTS_TAG in version.tags:
        return version.tags[ALERTS_TAG] == "true"
    if RECALL_TAG in version.tags and float(version.tags[RECALL_TAG]) == 0.0:
        return False
    return None


def best_candidate(
    aucs: dict[str, float], order: list[str], alerts: dict[str, bool | None] | None = None, min_auc: float = 0.0
) -> str:
    """The method with the highest AUC; a tie goes to the one listed first in `order`
    (``pipeline.promote_methods``). With `alerts` (``pipeline.promote_alerting``): only among the
    methods that alert and reach `min_auc`, when there is one. Promotion and the report both pick with this."""
    pool = [m for m in aucs if alerts and alerts.get(m) and usable(aucs[m], min_auc)] or list(aucs)
    return max(pool, key=lambda m: (aucs[m], -order.index(m)))


def promote(
    name: str,
    version: str,
    auc: float,
    margin: float = 0.0,
    min_auc: float = 0.0,
    client=None,
    alerts: bool | None = None,
) -> Decision:
    """Alias version `version` of `name` champion or challenger; `auc`, `min_auc` in percent, `margin` in
    points; `alerts`: whether its threshold alerted a labelled span of the device (None: not known or
    not weighed — AUC alone decides)."""
    import mlflow

    client = client or mlflow.MlflowClient()
    auc = round(float(auc), 4)  # percent, as the tag keeps it: a re-promotion compares equal values
    client.set_model_version_tag(name, version, AUC_TAG, f"{auc:.4f}")
    if alerts is not None:
        client.set_model_version_tag(name, version, ALERTS_TAG, str(alerts).lower())
    champ = _alias_version(client, name, CHAMPION)
    champ_auc = version_auc(champ)
    champ_alerts = version_alerts(champ) if alerts is not None else None
    if not usable(auc, min_auc):
        alias = CHALLENGER  # below the minimum: never champion, whatever the current one is
    elif champ is not None and str(champ.version) == str(version):
        alias = CHAMPION  # promoting the champion again (a retry): it stays champion
    elif champ is None or not usable(champ_auc, min_auc):
        alias = CHAMPION  # also replaces a champion registered before the minimum applied
    elif alerts is not None and champ_alerts is not None and alerts != champ_alerts:
        alias = CHAMPION if alerts else CHALLENGER  # one that alerts beats one that does not, whatever the AUCs
    elif auc >= champ_auc + margin:
        alias = CHAMPION  # a tie (margin 0) goes to the newer version
    else:
        alias = CHALLENGER
    other = CHALLENGER if alias == CHAMPION else CHAMPION
    held = _alias_version(client, name, other)
    if held is not None and str(held.version) == str(version):  # a version holds one of the two aliases
        client.delete_registered_model_alias(name, other)
    client.set_registered_model_alias(name, alias, version)
    client.set_model_version_tag(name, version, "promotion", alias)
    client.set_model_version_tag(name, version, "usable", str(usable(auc, min_auc)).lower())
    return Decision(name, str(version), auc, alias, champ.version if champ else None, champ_auc, min_auc, alerts)


def list_models(prefix: str = "ipad-vad-", min_auc: float = 0.0, client=None) -> list[dict]:
    """Each registered model with its champion and challenger (version, AUC in percent) and whether it is
    usable (a champion at or above `min_auc`)."""
    import mlflow

    client = client or mlflow.MlflowClient()
    rows = []
    for rm in client.search_registered_models(filter_string=f"name LIKE '{prefix}%'"):
        row = {"name": rm.name, "versions": len(client.search_model_versions(f"name='{rm.name}'"))}
        for alias in (CHAMPION, CHALLENGER):
            v = _alias_version(client, rm.name, alias)
            row[alias] = v.version if v else None
            row[f"{alias}_auc"] = version_auc(v)
        row["usable"] = row[CHAMPION] is not None and usable(row["champion_auc"], min_auc)
        rows.append(row)
    return sorted(rows, key=lambda r: r["name"])
