"""Every table, imported once so Alembic and tests see the whole metadata."""

from gwanje.accounts.models import ApiToken, LoginThrottle, User, WebSession  # noqa: F401
from gwanje.core.audit import AuditEntry  # noqa: F401
from gwanje.core.db import Base  # noqa: F401
from gwanje.registry.models import Camera, Department, Organisation, Site  # noqa: F401
from gwanje.situations.models import DeviceSequence, Dispatch, HotListEntry, InboxMessage, Incident, IncidentEvent  # noqa: F401
from gwanje.access.models import IncidentCamera, LedgerEntry, ProvisionRequest, RetentionHold, SubjectRequest  # noqa: F401
from gwanje.video.models import RecordingSegment, RecordingSetting, VideoClip  # noqa: F401
from gwanje.evidence.models import CustodyEntry, DownloadLink, EvidencePackage  # noqa: F401
from gwanje.core.revisions import Revision  # noqa: F401
from gwanje.center.agents.models import AgentRequest, ReplacementDemand, ReplacementEntry  # noqa: F401
from gwanje.center.handover.models import DutyLog, DutyLogEntry, Handover, HandoverItem  # noqa: F401
from gwanje.center.presence.models import Pledge, Presence, Training  # noqa: F401
from gwanje.center.roster.models import Shift  # noqa: F401
from gwanje.center.rooms.models import RoomAccessEntry, RoomAuthorisation, RoomVisitor  # noqa: F401
from gwanje.maintenance.equipment.models import EquipmentHistory, EquipmentItem  # noqa: F401
