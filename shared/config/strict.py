"""The base of every configuration model: unknown keys are errors (a typo must not pass) and values are frozen."""
from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
