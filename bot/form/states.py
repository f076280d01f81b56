"""The form's vocabulary: its step names, the keys it keeps in the conversation data, its categories and kinds."""

from __future__ import annotations

from enum import StrEnum

CATEGORIES = ("poor", "near_poor", "escaped", "other")
KINDS = ("question", "opinion", "petition", "proposal")


class FormStep(StrEnum):
    CONSENT = "consent"
    NAME = "name"
    HAMLET = "hamlet"
    CATEGORY = "category"
    PHONE = "phone"
    KIND = "q_kind"
    FIELD = "q_field"
    TOPIC = "q_topic"
    CONTENT = "q_content"
    SUGGEST = "q_suggest"              # a question said first: "is it about <topic>?"
    REVIEW = "review"
    EDIT_PICK = "edit_pick"
    SUBMITTED = "submitted"
    MENU = "menu"
    IDLE = "idle"
    FORGET_CONFIRM = "forget_confirm"


class FormKey(StrEnum):
    """What the form keeps in the conversation data between turns."""

    DRAFT = "draft"                    # the question being written (see Turn.draft)
    AFTER_EDIT = "after_edit"          # "review": an edit started from the review returns there
    PROFILE_EDIT = "profile_edit"      # True: the household is changing its details from the menu
    RESUME_STEP = "resume_step"        # the identification step the household paused at
    UNIT_PARENT = "unit_parent"        # the unit whose children the hamlet step lists
    HAMLET_PRESET = "hamlet_preset"    # the hamlet an invitation link named (/start <hamlet>)
    BEFORE_FORGET = "before_forget"    # where "no, keep my data" returns
    CONSENT_DETAILS = "consent_details"  # True: the consent question shows its long text
    LAST_TOPIC = "last_topic"          # the topic of the last form sent ("ask more about <topic>")


class Tag(StrEnum):
    """The tags of the form's button values (``u:tan-hau``)."""

    UNIT = "u"
    CATEGORY = "c"
    KIND = "k"
    FIELD = "f"
    TOPIC = "t"


PROFILE_STEPS = (FormStep.NAME, FormStep.HAMLET, FormStep.CATEGORY, FormStep.PHONE)
QUESTION_STEPS = (FormStep.KIND, FormStep.FIELD, FormStep.TOPIC, FormStep.CONTENT, FormStep.REVIEW,
                  FormStep.EDIT_PICK, FormStep.SUGGEST)
