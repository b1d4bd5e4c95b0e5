"""Names of stored values as staff read them; msgids marked here, translated where shown."""

from __future__ import annotations

from bot.domain.invites import InviteState
from bot.web.i18n import N_
from storage.models import AuditAction, ParticipantStatus, StaffRole

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
    AuditAction.CHANGE_CASE: N_("Changed a case"),
    AuditAction.CREATE_CAMPAIGN: N_("Created a campaign"),
    AuditAction.CHANGE_CAMPAIGN: N_("Changed a campaign"),
}
