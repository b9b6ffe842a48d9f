"""What every settings section shares: unknown keys are errors, and the value types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WrapValidator


class Section(BaseModel):
    """A section of params.yaml: an unknown key is an error (``params_schema.validate_section`` names
    it); frozen, since one loaded tree is shared by the whole process."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_written(value, handler):
    """A float setting given as an integer (``promote_min_auc: 70``) is checked as a float and kept as
    written, so that what the code reads (and writes into reports and files) is what params.yaml says."""
    checked = handler(value)
    return value if type(value) is int else checked


Float = Annotated[float, WrapValidator(_as_written)]
Pos = Annotated[int, Field(gt=0)]
NonNeg = Annotated[int, Field(ge=0)]
PosFloat = Annotated[Float, Field(gt=0)]
NonNegFloat = Annotated[Float, Field(ge=0)]
Share = Annotated[Float, Field(ge=0, le=1)]
Size = Annotated[list[Annotated[int, Field(gt=0)]], Field(min_length=2, max_length=2)]
Scenes = list[str]
JpegQuality = Annotated[int, Field(ge=1, le=100)]


def from_params(cls, params: dict, path: str, where: str):
    """`cls` checked on the section at `path` (``score.evidence``) of a params dict, whose keys left out
    (or whole sections: the CLI without a params.yaml passes {}) read as the schema's defaults."""
    from ..params_schema import validate_section, with_defaults

    values = with_defaults(params)
    for key in path.split("."):
        values = values[key]
    return validate_section(cls, values, where, path)
