"""``pipeline:``: what the DVC stages and Prefect flows run over, and where their results go."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from ._base import Float, NonNegFloat, Scenes, Section


def method_files() -> list[str]:
    """The registered methods' names, read from the files of ``methods/`` without importing them (that
    would import torch for every command); a variant is declared in its parent's file."""
    from ..method_index import declared_methods

    return sorted(declared_methods())


class Pipeline(Section):
    scenes: Scenes = []
    pretrain_scenes: Scenes = []  # the base models learn from these (pretrain_data: pretrain)
    devices: Scenes = []  # each gets an adapted model and a registry entry
    pretrain_data: Literal["pretrain", "devices"] = "pretrain"
    methods: list[str] = []  # the report's rows
    promote_methods: list[str] = []  # the methods that compete for a device's champion
    # AUC points the new best must beat the champion by (at least; 0: a tie goes to the new one)
    promote_margin: NonNegFloat = 0.0
    promote_min_auc: Float = 0.0  # percent (70), as every AUC shown: below it a version is never champion
    promote_alerting: bool = True  # a candidate whose threshold alerts a labelled span beats one that alerts none
    prepared_root: str = "data/prepared"
    models_root: str = "models"
    eval_root: str = "eval"
    plots_root: str = "plots"
    metrics_root: str = "metrics"
    reports_root: str = "reports"
    registry_root: str = "registry"

    @field_validator("methods", "promote_methods")
    @classmethod
    def _registered_methods(cls, v):  # issue 29: before any server or flow starts, not inside a flow run
        unknown = [m for m in v if m not in method_files()]
        if unknown:
            raise ValueError(
                f"unknown method{'s' * (len(unknown) > 1)} {', '.join(map(repr, unknown))} "
                f"(in {v}); known: {method_files()}"
            )
        return v

    @field_validator("promote_min_auc")
    @classmethod
    def _percent(cls, v):
        if not 0.0 <= v <= 100.0:
            raise ValueError(f"an AUC in percent lies in [0, 100], got {v}")
        if 0.0 < v <= 1.0:  # a fraction, as the setting was before issue 29: 0.7 would pass anything
            raise ValueError(f"an AUC in percent, got {v} (write {100 * v:g} for an AUC of {v:g})")
        return v
