"""CDS Hooks 2.0.1 objects as pydantic models: the requests igwatch reads and the responses it sends.

Request models allow extra fields (EHRs add their own); response models forbid them, so a test
that validates a response against them catches any field the specification does not define.
The field names are the specification's (camelCase).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Indicator = Literal["info", "warning", "critical"]

#: A FHIR resource id (R4 ``id`` datatype).
FHIR_ID = r"^[A-Za-z0-9\-.]{1,64}$"

#: CDS Hooks: a card summary is "less than 140 characters".
SUMMARY_MAX = 139


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")


# --------------------------------------------------------------------------- discovery


class Service(_Response):
    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


class Discovery(_Response):
    services: list[Service]


# --------------------------------------------------------------------------- request


class FhirAuthorization(_Request):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class HookContext(_Request):
    """The context of patient-view, order-select and order-sign (other fields kept as sent)."""

    userId: str | None = None
    patientId: str = Field(pattern=FHIR_ID)
    encounterId: str | None = None

    @field_validator("patientId")
    @classmethod
    def _not_only_dots(cls, value: str) -> str:
        # "." and ".." match the FHIR id pattern but name a path, not a patient (Patient/..)
        if not value.strip("."):
            raise ValueError("a patient id cannot be only dots")
        return value

    selections: list[str] | None = None
    draftOrders: dict[str, Any] | None = None


class HookRequest(_Request):
    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: HookContext
    #: key → resource or Bundle; ``null`` means the EHR has no such data, an absent key that it
    #: was not fetched.
    prefetch: dict[str, dict[str, Any] | None] | None = None


# --------------------------------------------------------------------------- response


class Coding(_Response):
    code: str
    system: str | None = None
    display: str | None = None


class OverrideReason(Coding):
    """An override reason offered on a card: a Coding (CDS Hooks 2.0.1 ``overrideReasons``)."""


class Source(_Response):
    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Response):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _target(self) -> Action:
        if self.type == "delete" and not self.resourceId:
            raise ValueError("a delete action names its resourceId")
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a {self.type} action carries its resource")
        return self


class Suggestion(_Response):
    label: str
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Link(_Response):
    label: str
    url: str
    type: Literal["absolute", "smart"]
    appContext: str | None = None


class Card(_Response):
    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX)
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[OverrideReason] | None = None
    links: list[Link] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _selection(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when suggestions are present")
        return self


class CdsResponse(_Response):
    cards: list[Card]
    systemActions: list[Action] | None = None


# --------------------------------------------------------------------------- feedback


class AcceptedSuggestion(_Request):
    id: str


#: Feedback limits: a card id is a uuid (an id longer than this is refused, never cut — cut ids
#: could collide); a comment is a clinician's note; one request holds one screen's feedback.
MAX_CARD_ID = 128
MAX_COMMENT = 4000
MAX_FEEDBACK_ITEMS = 500


class OverrideReasonFeedback(_Request):
    reason: Coding | None = None
    userComment: str | None = Field(default=None, max_length=MAX_COMMENT)


class FeedbackItem(_Request):
    card: str = Field(min_length=1, max_length=MAX_CARD_ID)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = Field(default=None, max_length=100)
    overrideReason: OverrideReasonFeedback | None = None
    outcomeTimestamp: str = Field(min_length=1, max_length=64)


class FeedbackRequest(_Request):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=MAX_FEEDBACK_ITEMS)


class FeedbackResponse(_Response):
    received: int
    stored: int
    duplicates: int


# --------------------------------------------------------------------------- errors


class OperationOutcomeIssue(_Response):
    severity: Literal["fatal", "error", "warning", "information"]
    code: str
    diagnostics: str


class OperationOutcome(_Response):
    resourceType: Literal["OperationOutcome"] = "OperationOutcome"
    issue: list[OperationOutcomeIssue]

    @classmethod
    def error(cls, code: str, diagnostics: str) -> OperationOutcome:
        one_line = " ".join(diagnostics.split()) or "error"
        return cls(issue=[OperationOutcomeIssue(severity="error", code=code, diagnostics=one_line)])
