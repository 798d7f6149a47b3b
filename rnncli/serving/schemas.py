"""What a request may hold and what an answer holds, as pydantic models.

The request model is strict: `"top_k": "2"` or `"texts": "one text"` is refused rather than
coerced, and an unknown key (`"text"`, `"topk"`) is refused rather than ignored, so a client's
typo is a clear 422 instead of an answer to a question it did not ask. The answer models exist
for the OpenAPI document (`/docs`); the answers themselves are built as plain dicts
(`answers.py`), with no validation pass over every probability.
"""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator


class PredictRequest(BaseModel):
    """The body of `POST /predict`."""

    model_config = ConfigDict(strict=True, extra="forbid")

    texts: list[str] = Field(
        min_length=1,
        description="The texts to label, answered in this order (at most the server's --max-texts).",
        examples=[["A wonderful film, I loved every minute.", "Dull and far too long."]],
    )
    top_k: int = Field(1, ge=1, description="Also list the K most likely labels (as --top-k).")
    explain: bool = Field(False, description="Weigh each word (as --explain): slower, one text at a time.")

    @field_validator("texts")
    @classmethod
    def _unicode_only(cls, texts: list[str]) -> list[str]:
        # JSON may escape a lone surrogate ("\ud800"): a str Python holds but no UTF-8 answer can.
        for index, text in enumerate(texts):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(
                    f"texts[{index}] holds a lone surrogate at character {exc.start}, which is not text"
                ) from None
        return texts


class LabelProbability(BaseModel):
    label: str
    probability: float


class PredictionOut(BaseModel):
    """One text's answer: the fields of `rnncli predict --json`, and more when asked for."""

    text: str
    label: str
    probability: float
    probabilities: dict[str, float]
    top: Optional[list[LabelProbability]] = Field(None, description="Only when top_k > 1.")
    method: Optional[str] = Field(None, description="Only with explain: attention or occlusion.")
    weights: Optional[list[tuple[str, float]]] = Field(
        None, description="Only with explain: [word, weight] pairs in text order, as --explain --json."
    )
    offsets: Optional[list[tuple[int, int]]] = Field(
        None, description="Only with explain: [start, end) of each word in the text, in characters."
    )


class PredictResponse(BaseModel):
    predictions: list[PredictionOut]


class ErrorResponse(BaseModel):
    error: str = Field(description="One line saying what was wrong.")
