"""Names of stored values as staff read them; msgids marked here, translated where shown."""

from __future__ import annotations

from bot.domain.invites import InviteState
from bot.web.i18n import N_
from storage.models import (
    AuditAction,
    CheckinStatus,
    Circle,
    EscalationCategory,
    EscalationStatus,
    EventKind,
    FlagKind,
    MessageKind,
    ParticipantStatus,
    StaffRole,
    StepKind,
)

STATUS = {
    ParticipantStatus.APPLIED: N_("Applied"),
    ParticipantStatus.ACTIVE: N_("Active"),
    ParticipantStatus.FOLLOW_UP: N_("Follow-up"),
    ParticipantStatus.ENDED: N_("Ended"),
}

GENDER = {
    "woman": N_("Women"),
    "man": N_("Men"),
    "other": N_("Other"),
    "not_recorded": N_("Not recorded"),
}

INVITE_STATE = {
    InviteState.OPEN: N_("Open"),
    InviteState.USED: N_("Used"),
    InviteState.EXPIRED: N_("Expired"),
    InviteState.REVOKED: N_("Revoked"),
}

ROLE = {
    StaffRole.STAFF: N_("Staff"),
    StaffRole.MENTOR: N_("Mentor"),
}

AUDIT_ACTION = {
    AuditAction.SIGN_IN: N_("Signed in"),
    AuditAction.SIGN_IN_FAILED: N_("Sign-in failed"),
    AuditAction.LOCKED_OUT: N_("Locked out after failed sign-ins"),
    AuditAction.SIGN_OUT: N_("Signed out"),
    AuditAction.READ_PARTICIPANT: N_("Opened the participant's page"),
    AuditAction.REFUSED_PARTICIPANT: N_("Was refused the participant's page"),
    AuditAction.SEARCH_PARTICIPANTS: N_("Searched participants"),
    AuditAction.CREATE_INVITE: N_("Created an invitation"),
    AuditAction.REVOKE_INVITE: N_("Revoked an invitation"),
    AuditAction.EXPORT: N_("Downloaded a report"),
    AuditAction.CHANGE_CASE: N_("Changed a request for help"),
    AuditAction.READ_CASE: N_("Opened a request for help"),
    AuditAction.REFUSED_CASE: N_("Was refused a request for help"),
    AuditAction.CREATE_CAMPAIGN: N_("Created a campaign"),
    AuditAction.CHANGE_CAMPAIGN: N_("Changed a campaign"),
}

CATEGORY = {
    EscalationCategory.HOUSING: N_("Housing"),
    EscalationCategory.DEBT: N_("Money and debts"),
    EscalationCategory.VIOLENCE: N_("Violence or threats"),
    EscalationCategory.HEALTH: N_("Health and care"),
    EscalationCategory.OTHER: N_("Something else"),
}

CASE_STATUS = {
    EscalationStatus.OPEN: N_("Waiting"),
    EscalationStatus.CLAIMED: N_("Taken"),
    EscalationStatus.RESOLVED: N_("Done"),
    EscalationStatus.DRAFT: N_("Not sent"),
}

CASE_EVENT = {
    EventKind.CREATED: N_("Written"),
    EventKind.SHARED: N_("The participant agreed to share it"),
    EventKind.WITHHELD: N_("The participant did not want to share it; the words were deleted"),
    EventKind.NOTIFIED: N_("A mentor was told"),
    EventKind.REMINDED: N_("A mentor was reminded"),
    EventKind.WIDENED: N_("More mentors were told"),
    EventKind.UNREACHABLE: N_("Nobody could be reached"),
    EventKind.URGENT: N_("Became urgent"),
    EventKind.RECEIVED: N_("The participant wrote more"),
    EventKind.HELD: N_("Held back for a minute (many messages at once)"),
    EventKind.CLAIMED: N_("Taken"),
    EventKind.REASSIGNED: N_("Given to a mentor"),
    EventKind.REPLIED: N_("A mentor answered"),
    EventKind.RESOLVED: N_("Marked as done"),
    EventKind.REOPENED: N_("Reopened"),
    EventKind.HIDDEN: N_("The participant had the messages hidden in their chat"),
}

CIRCLE = {
    Circle.MENTOR: N_("own mentor"),
    Circle.LANGUAGE: N_("mentors who speak the language"),
    Circle.COORDINATORS: N_("coordinators"),
}

MEDIA = {
    MessageKind.TEXT: N_("a text"),
    MessageKind.PHOTO: N_("a photo"),
    MessageKind.VOICE: N_("a voice message"),
    MessageKind.DOCUMENT: N_("a document"),
    MessageKind.AUDIO: N_("an audio file"),
    MessageKind.VIDEO: N_("a video"),
}

STEP_KIND = {
    StepKind.COURSE: N_("Started SFI or another course"),
    StepKind.STUDIES: N_("Studies"),
    StepKind.INTERNSHIP: N_("Internship"),
    StepKind.JOB: N_("Job"),
    StepKind.SUBSIDISED_JOB: N_("Job with wage subsidy"),
    StepKind.JOB_SEARCH: N_("Job search"),
    StepKind.CONTACT: N_("Contact with an authority or care"),
    StepKind.LEFT_FOR_WORK: N_("Left for work or studies"),
}

# A face and a word: a screen reader says the word, someone who reads little sees the face.
MOOD = {
    5: ("😄", N_("Very good")),
    4: ("🙂", N_("Good")),
    3: ("😐", N_("Okay")),
    2: ("🙁", N_("Hard")),
    1: ("😞", N_("Very hard")),
}

ACTIVITY = {
    "apply": N_("Job applications"),
    "course": N_("SFI or another course"),
    "internship": N_("Internship"),
    "authority": N_("Met an authority or care provider"),
    "nothing": N_("Nothing this week"),
    "other": N_("Something else"),
}

CHECKIN_STATUS = {
    CheckinStatus.ANSWERED: N_("Answered"),
    CheckinStatus.EXPIRED: N_("Not answered in time"),
    CheckinStatus.OPEN: N_("Open"),
}

FLAG = {
    FlagKind.LOW_MOOD: N_("Hard weeks twice in a row"),
    FlagKind.NO_ANSWER: N_("No answer twice in a row"),
}
