"""Care circles: who is the patient, who helps, invites, joining and leaving."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.clock import Clock
from bot.db import flows
from bot.db.circles import active_membership, display_name, patient_circle_id
from bot.db.models import (
    Access,
    Circle,
    Invite,
    InviteStatus,
    Membership,
    MemberStatus,
    Role,
    User,
)
from bot.db.session import Database
from bot.domain.errors import (
    FlowMoved,
    InviteError,
    NotInCircle,
    NotPatient,
    NotRegistered,
    StaleAction,
    TooManyAttempts,
    UnknownTimezone,
)
from bot.domain.flows import Awaiting
from bot.domain.timezones import Refusal, read_timezone, zone_at
from bot.events import log_event
from bot.notify import Notifier, OutMessage, Priority

log = logging.getLogger(__name__)

# Called with (session, circle_id, user_id) when a helper leaves or is removed.
MemberGoneHook = Callable[[AsyncSession, int, int], Awaitable[None]]

# Told, in the same transaction, that someone's time zone changed: (session, user_id).
TimezoneListener = Callable[[AsyncSession, int], Awaitable[None]]

# Told, in the same transaction, that Telegram refused to deliver to someone (403):
# (session, user_id). What was on its way to them will never arrive.
UnreachableListener = Callable[[AsyncSession, int], Awaitable[None]]

# 12 random bytes: 96 bits, 16 URL-safe characters, fits a /start deep-link payload.
INVITE_CODE_BYTES = 12
# Wrong codes allowed per person per window before /join waits: enough for typos,
# far too few to guess 96 bits.
JOIN_FAILURES_ALLOWED = 5
JOIN_WINDOW = dt.timedelta(minutes=15)
# How long a person's stored name is trusted without looking (see CircleService._known).
KNOWN_FOR = 30.0
# An unanswered question is let go after this long (Settings.flow_expire_minutes).
DEFAULT_FLOW_TTL = dt.timedelta(minutes=60)


@dataclass(frozen=True)
class Person:
    """Who Telegram says is talking to us."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class HelpingIn:
    """A circle someone helps in."""

    circle_id: int
    patient_id: int
    patient_name: str
    access: str


@dataclass(frozen=True)
class Standing:
    """Where a person stands: their own circle (as patient) and the circles they help in."""

    user_id: int
    name: str
    timezone: str | None
    awaiting: str | None
    draft: dict[str, Any] | None
    patient_circle_id: int | None
    helping: tuple[HelpingIn, ...]
    # The flow's revision (see bot.db.flows), and a question that went unanswered too long.
    flow_rev: int = 0
    expired: str | None = None

    @property
    def is_patient(self) -> bool:
        return self.patient_circle_id is not None

    @property
    def is_helper(self) -> bool:
        return bool(self.helping)


@dataclass(frozen=True)
class TimezoneSet:
    """A time zone stored: its IANA name, and whether it was the person's first."""

    name: str
    # No zone before this call: decided by a conditional update, so of two calls racing
    # (a double tap), only one is first.
    first: bool
    is_patient: bool


@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    role: str
    access: str
    joined_at: dt.datetime
    reachable: bool


@dataclass(frozen=True)
class CircleView:
    id: int
    patient_id: int
    patient_name: str
    timezone: str | None
    members: tuple[Member, ...]

    @property
    def helpers(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.role == Role.HELPER)


@dataclass(frozen=True)
class InviteView:
    code: str
    access: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Joined:
    circle_id: int
    patient_name: str
    access: str


# The patient's circle settings, in the order /circle shows them.
CIRCLE_SETTINGS = (
    "one_at_a_time",
    "helpers_manage_meds",
    "helpers_mark_given",
    "lookin_requests",
    "errand_lookins",
)


@dataclass(frozen=True)
class CircleSettings:
    one_at_a_time: bool
    helpers_manage_meds: bool
    helpers_mark_given: bool
    lookin_requests: bool
    errand_lookins: bool


class CircleService:
    """Use cases for circles and their members."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        invite_ttl: dt.timedelta,
        flow_ttl: dt.timedelta = DEFAULT_FLOW_TTL,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._invite_ttl = invite_ttl
        self._flow_ttl = flow_ttl
        # Names we stored recently, so most updates cost no write. A cache, not the truth:
        # entries expire, because another replica may have deleted the person since.
        self._known: dict[int, tuple[tuple[str, str | None, str | None], float]] = {}
        self._member_gone: list[MemberGoneHook] = []
        self._timezone_listeners: list[TimezoneListener] = []
        self._unreachable_listeners: list[UnreachableListener] = []

    def on_member_gone(self, hook: MemberGoneHook) -> None:
        """Run `hook(session, circle_id, user_id)` in the transaction that ends a helper's
        membership (left or removed), so other areas can let go of what they held."""
        self._member_gone.append(hook)

    def on_timezone_changed(self, listener: TimezoneListener) -> None:
        """Call `listener(session, user_id)` inside the transaction that changes a time zone
        (e.g. to move medication reminders to the new local times)."""
        self._timezone_listeners.append(listener)

    def on_unreachable(self, listener: UnreachableListener) -> None:
        """Call `listener(session, user_id)` inside the transaction that marks someone
        unreachable (e.g. so a missed-dose alert that can no longer arrive reaches someone
        else)."""
        self._unreachable_listeners.append(listener)

    # --- people ------------------------------------------------------------------------

    async def touch(self, person: Person) -> None:
        """Record or refresh a person's Telegram name."""
        names = (person.first_name[:128], (person.last_name or "")[:128] or None, person.username)
        known = self._known.get(person.id)
        if known is not None and known[0] == names and time.monotonic() - known[1] < KNOWN_FOR:
            return
        async with self._db.transaction() as session:
            user = await session.get(User, person.id)
            now = self._clock.now()
            if user is None:
                session.add(
                    User(
                        id=person.id,
                        first_name=names[0],
                        last_name=names[1],
                        username=names[2],
                        reachable=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                user.first_name, user.last_name, user.username = names
                # Writing to us proves they can be reached again.
                user.reachable = True
                user.updated_at = now
        if len(self._known) > 50_000:
            self._known.clear()
        self._known[person.id] = (names, time.monotonic())

    async def standing(self, user_id: int) -> Standing:
        async with self._db.transaction() as session:
            return await self._standing(session, user_id)

    async def set_awaiting(
        self, user_id: int, what: Awaiting | None, draft: dict[str, Any] | None = None
    ) -> None:
        """Remember which free-text answer we wait for next, and the flow's answers so far.

        Starting any flow replaces the one before: a person is in one conversation at a time.
        """
        async with self._db.transaction() as session:
            await flows.start(session, user_id, what, draft, self._clock.now())

    async def advance_flow(
        self, user_id: int, rev: int, what: Awaiting | None, draft: dict[str, Any] | None = None
    ) -> None:
        """Move the flow read at revision `rev` to its next step (or end it, `what` None).
        Raises FlowMoved if another answer moved it first."""
        async with self._db.transaction() as session:
            if not await flows.advance(session, user_id, rev, what, draft, self._clock.now()):
                raise FlowMoved()

    async def end_flow_about(
        self, session: AsyncSession, user_id: int, what: Awaiting, key: str, value: Any
    ) -> None:
        """In the caller's transaction: end the flow `what` if it is about this thing."""
        await flows.end_if(session, user_id, what, key, value, self._clock.now())

    async def end_flow(
        self, user_id: int, keep: frozenset[Awaiting] = frozenset()
    ) -> Standing | None:
        """Stop whatever question is open (/cancel, or another command in its middle) unless
        it is one of `keep`; returns where it stood, or None if nothing was ended."""
        async with self._db.transaction() as session:
            standing = await self._standing(session, user_id)
            if standing.awaiting is None and standing.expired is None:
                return None
            if standing.awaiting in keep:
                return None
            if not await flows.advance(
                session, user_id, standing.flow_rev, None, None, self._clock.now()
            ):
                return None  # ended by the update just before this one
            log_event(log, "flow.ended", user_id=user_id, step=standing.awaiting)
            return standing if standing.awaiting is not None else None

    # --- patients ----------------------------------------------------------------------

    async def become_patient(self, user_id: int) -> int:
        """Give this person a circle of their own (once); returns its id."""
        async with self._db.transaction() as session:
            circle_id = await patient_circle_id(session, user_id)
            if circle_id is not None:
                return circle_id
            now = self._clock.now()
            circle = Circle(patient_id=user_id, created_at=now)
            session.add(circle)
            await session.flush()
            session.add(
                Membership(
                    circle_id=circle.id,
                    user_id=user_id,
                    role=Role.PATIENT,
                    access=Access.CLOSE,
                    status=MemberStatus.ACTIVE,
                    joined_at=now,
                )
            )
            await flows.start(session, user_id, Awaiting.TIMEZONE, None, now)
            log_event(log, "circle.created", circle_id=circle.id, user_id=user_id)
            return circle.id

    async def set_timezone(self, user_id: int, text: str) -> TimezoneSet:
        """Set someone's time zone from what they typed or tapped."""
        name = read_timezone(text)
        if isinstance(name, Refusal):
            raise UnknownTimezone(text, name)
        return await self._store_timezone(user_id, name)

    async def set_timezone_at(self, user_id: int, latitude: float, longitude: float) -> TimezoneSet:
        """Set someone's time zone from a location they shared.

        The coordinates are used for this lookup only: never stored, never logged.
        """
        # The first lookup loads the borders (tens of ms): off the event loop.
        name = await asyncio.to_thread(zone_at, latitude, longitude)
        if name is None:
            raise UnknownTimezone("", "location")
        return await self._store_timezone(user_id, name)

    async def _store_timezone(self, user_id: int, name: str) -> TimezoneSet:
        async with self._db.transaction() as session:
            first = await session.execute(
                update(User)
                .where(User.id == user_id, User.timezone.is_(None))
                .values(timezone=name)
            )
            is_first = first.rowcount == 1  # type: ignore[attr-defined]
            if not is_first:
                await session.execute(update(User).where(User.id == user_id).values(timezone=name))
            await flows.end_step(session, user_id, Awaiting.TIMEZONE, self._clock.now())
            for listener in self._timezone_listeners:
                await listener(session, user_id)
            is_patient = await patient_circle_id(session, user_id) is not None
        log_event(log, "user.timezone_set", user_id=user_id)
        return TimezoneSet(name, is_first, is_patient)

    async def invite(self, user_id: int, access: str, *, replace: bool = False) -> InviteView:
        """The patient's current invite for this kind of helper, made (or replaced) if needed."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, user_id)
            now = self._clock.now()
            current = (
                await session.scalars(
                    select(Invite)
                    .where(
                        Invite.circle_id == circle_id,
                        Invite.access == access,
                        Invite.status == InviteStatus.ACTIVE,
                    )
                    .order_by(Invite.id.desc())
                )
            ).first()
            if current is not None and current.expires_at > now and not replace:
                return InviteView(current.code, current.access, current.expires_at)
            await session.execute(
                update(Invite)
                .where(
                    Invite.circle_id == circle_id,
                    Invite.access == access,
                    Invite.status == InviteStatus.ACTIVE,
                )
                .values(status=InviteStatus.REPLACED)
            )
            invite = Invite(
                circle_id=circle_id,
                code=secrets.token_urlsafe(INVITE_CODE_BYTES),
                access=access,
                status=InviteStatus.ACTIVE,
                created_at=now,
                expires_at=now + self._invite_ttl,
            )
            session.add(invite)
            log_event(log, "invite.created", circle_id=circle_id, access=access)
            return InviteView(invite.code, invite.access, invite.expires_at)

    # --- helpers -----------------------------------------------------------------------

    async def join(self, user_id: int, code: str) -> Joined:
        """Use an invite code to join a circle as a helper."""
        await self._check_join_budget(user_id)
        try:
            return await self._join(user_id, code.strip())
        except InviteError as error:
            if error.reason in ("unknown", "used", "replaced", "expired"):
                await self._count_join_failure(user_id)
            raise

    async def _check_join_budget(self, user_id: int) -> None:
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            if user is None or user.join_window_start is None:
                return
            window_ends = user.join_window_start + JOIN_WINDOW
            now = self._clock.now()
            if user.join_failures >= JOIN_FAILURES_ALLOWED and now < window_ends:
                minutes = max(1, math.ceil((window_ends - now).total_seconds() / 60))
                log_event(log, "circle.join_throttled", user_id=user_id)
                raise TooManyAttempts(minutes)

    async def _count_join_failure(self, user_id: int) -> None:
        now = self._clock.now()
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            if user is None:
                return
            if user.join_window_start is None or now >= user.join_window_start + JOIN_WINDOW:
                user.join_window_start, user.join_failures = now, 0
            user.join_failures += 1

    async def _join(self, user_id: int, code: str) -> Joined:
        async with self._db.transaction() as session:
            invite = (
                await session.scalars(select(Invite).where(Invite.code == code))
            ).one_or_none()
            if invite is None:
                raise InviteError("unknown")
            circle = await session.get(Circle, invite.circle_id)
            assert circle is not None
            patient = await session.get(User, circle.patient_id)
            assert patient is not None
            patient_name = display_name(patient)
            if circle.patient_id == user_id:
                raise InviteError("own", patient_name)
            membership = (
                await session.scalars(
                    select(Membership).where(
                        Membership.circle_id == circle.id, Membership.user_id == user_id
                    )
                )
            ).one_or_none()
            if membership is not None and membership.status == MemberStatus.ACTIVE:
                raise InviteError("already_member", patient_name)
            if invite.status == InviteStatus.USED:
                raise InviteError("used", patient_name)
            if invite.status == InviteStatus.REPLACED:
                raise InviteError("replaced", patient_name)
            now = self._clock.now()
            if invite.expires_at <= now:
                raise InviteError("expired", patient_name)

            # The conditional update decides who gets a single-use code if two try at once.
            claimed = await session.execute(
                update(Invite)
                .where(Invite.id == invite.id, Invite.status == InviteStatus.ACTIVE)
                .values(status=InviteStatus.USED, used_by=user_id, used_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise InviteError("used", patient_name)
            if membership is None:
                membership = Membership(circle_id=circle.id, user_id=user_id, role=Role.HELPER)
                session.add(membership)
            membership.role = Role.HELPER
            membership.access = invite.access
            membership.status = MemberStatus.ACTIVE
            membership.joined_at = now
            membership.ended_at = None

            helper = await session.get(User, user_id)
            assert helper is not None
            helper.awaiting = None
            helper.draft = None
            if helper.timezone is None:
                helper.timezone = patient.timezone
            await self._notifier.send(
                session,
                key=f"circle:{circle.id}:joined:{user_id}:{invite.id}",
                chat_id=circle.patient_id,
                message=OutMessage(
                    texts.helper_joined(display_name(helper), invite.access),
                    keyboards.invite_another(invite.access),
                ),
                kind="circle.joined",
                priority=Priority.NORMAL,
                circle_id=circle.id,
            )
            log_event(log, "circle.joined", circle_id=circle.id, user_id=user_id)
            return Joined(circle.id, patient_name, invite.access)

    async def leave(self, user_id: int, circle_id: int) -> str:
        """A helper steps out of a circle; returns the patient's name."""
        async with self._db.transaction() as session:
            membership = await active_membership(session, circle_id, user_id)
            if membership is None or membership.role != Role.HELPER:
                raise StaleAction()
            return await self._leave(session, membership)

    async def leave_all_in(self, session: AsyncSession, user_id: int) -> int:
        """In the caller's transaction, step this helper out of every circle they help in,
        exactly as /leave does (patient told, what they held goes out again); returns how
        many circles they left."""
        memberships = list(
            await session.scalars(
                select(Membership).where(
                    Membership.user_id == user_id,
                    Membership.role == Role.HELPER,
                    Membership.status == MemberStatus.ACTIVE,
                )
            )
        )
        for membership in memberships:
            await self._leave(session, membership)
        return len(memberships)

    def forget(self, user_id: int) -> None:
        """Drop this person from the name cache (their row was deleted): the next update
        stores them afresh."""
        self._known.pop(user_id, None)

    async def _leave(self, session: AsyncSession, membership: Membership) -> str:
        circle_id, user_id = membership.circle_id, membership.user_id
        await self._end_membership(session, membership, MemberStatus.LEFT)
        circle = await session.get(Circle, circle_id)
        assert circle is not None
        patient = await session.get(User, circle.patient_id)
        helper = await session.get(User, user_id)
        assert patient is not None and helper is not None
        await self._notifier.send(
            session,
            key=f"circle:{circle_id}:left:{user_id}:{_stint(membership)}",
            chat_id=circle.patient_id,
            message=OutMessage(texts.helper_left(display_name(helper))),
            kind="circle.left",
            circle_id=circle_id,
        )
        log_event(log, "circle.left", circle_id=circle_id, user_id=user_id)
        return display_name(patient)

    async def remove_helper(self, patient_id: int, helper_id: int) -> str:
        """The patient removes a helper; returns the helper's name."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, patient_id)
            membership = await active_membership(session, circle_id, helper_id)
            if membership is None or membership.role != Role.HELPER:
                raise StaleAction()
            await self._end_membership(session, membership, MemberStatus.REMOVED)
            patient = await session.get(User, patient_id)
            helper = await session.get(User, helper_id)
            assert patient is not None and helper is not None
            await self._notifier.send(
                session,
                key=f"circle:{circle_id}:removed:{helper_id}:{_stint(membership)}",
                chat_id=helper_id,
                message=OutMessage(texts.you_were_removed(display_name(patient))),
                kind="circle.removed",
                circle_id=circle_id,
            )
            log_event(log, "circle.helper_removed", circle_id=circle_id, user_id=helper_id)
            return display_name(helper)

    async def member_name(self, patient_id: int, helper_id: int) -> str:
        """The name of an active helper in the patient's circle (for a confirm question)."""
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, patient_id)
            membership = await active_membership(session, circle_id, helper_id)
            if membership is None or membership.role != Role.HELPER:
                raise StaleAction()
            helper = await session.get(User, helper_id)
            assert helper is not None
            return display_name(helper)

    async def mark_unreachable(self, user_id: int) -> None:
        """Telegram refused to deliver to this person (403): stop trying, tell their patients."""
        async with self._db.transaction() as session:
            result = await session.execute(
                update(User)
                .where(User.id == user_id, User.reachable.is_(True))
                .values(reachable=False, updated_at=self._clock.now())
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return  # already known
            log_event(log, "user.unreachable", user_id=user_id)
            self._known.pop(user_id, None)
            standing = await self._standing(session, user_id)
            stamp = int(self._clock.now().timestamp())
            for helping in standing.helping:
                await self._notifier.send(
                    session,
                    key=f"circle:{helping.circle_id}:unreachable:{user_id}:{stamp}",
                    chat_id=helping.patient_id,
                    message=OutMessage(texts.helper_unreachable(standing.name)),
                    kind="circle.unreachable",
                    circle_id=helping.circle_id,
                )
            for listener in self._unreachable_listeners:
                await listener(session, user_id)

    # --- the patient's choices ---------------------------------------------------------

    async def settings(self, patient_id: int) -> CircleSettings:
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, patient_id)
            circle = await session.get(Circle, circle_id)
            assert circle is not None
            return _settings_of(circle)

    async def toggle_setting(self, patient_id: int, name: str) -> CircleSettings:
        if name not in CIRCLE_SETTINGS:
            raise StaleAction()
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, patient_id)
            circle = await session.get(Circle, circle_id)
            assert circle is not None
            setattr(circle, name, not getattr(circle, name))
            log_event(log, "circle.setting_changed", circle_id=circle_id, setting=name)
            return _settings_of(circle)

    async def set_access(self, patient_id: int, helper_id: int, access: str) -> str:
        """Make a helper close family or an errand helper; returns their name."""
        if access not in (Access.CLOSE, Access.ERRAND):
            raise StaleAction()
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, patient_id)
            membership = await active_membership(session, circle_id, helper_id)
            if membership is None or membership.role != Role.HELPER:
                raise StaleAction()
            helper = await session.get(User, helper_id)
            patient = await session.get(User, patient_id)
            assert helper is not None and patient is not None
            if membership.access != access:
                membership.access = access
                stamp = int(self._clock.now().timestamp())
                await self._notifier.send(
                    session,
                    key=f"circle:{circle_id}:access:{helper_id}:{access}:{stamp}",
                    chat_id=helper_id,
                    message=OutMessage(texts.access_changed(display_name(patient), access)),
                    kind="circle.access",
                    circle_id=circle_id,
                )
                log_event(log, "circle.access_changed", circle_id=circle_id, user_id=helper_id)
            return display_name(helper)

    # --- views -------------------------------------------------------------------------

    async def circle(self, circle_id: int) -> CircleView:
        async with self._db.transaction() as session:
            return await self._circle_view(session, circle_id)

    async def my_circle(self, patient_id: int) -> CircleView:
        async with self._db.transaction() as session:
            circle_id = await self._require_patient(session, patient_id)
            return await self._circle_view(session, circle_id)

    async def require_helper_in(self, user_id: int, circle_id: int) -> HelpingIn:
        """Re-check, at the moment of acting, that this person helps in that circle."""
        standing = await self.standing(user_id)
        for helping in standing.helping:
            if helping.circle_id == circle_id:
                return helping
        raise NotInCircle()

    # --- internals ---------------------------------------------------------------------

    async def _standing(self, session: AsyncSession, user_id: int) -> Standing:
        user = await session.get(User, user_id)
        if user is None:
            return Standing(user_id, "", None, None, None, None, ())
        rows = (
            await session.execute(
                select(Membership, Circle, User)
                .join(Circle, Circle.id == Membership.circle_id)
                .join(User, User.id == Circle.patient_id)
                .where(Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE)
                .order_by(Membership.joined_at)
            )
        ).all()
        patient_circle_id = None
        helping = []
        for membership, circle, patient in rows:
            if membership.role == Role.PATIENT:
                patient_circle_id = circle.id
            else:
                helping.append(
                    HelpingIn(circle.id, patient.id, display_name(patient), membership.access)
                )
        expired = flows.expired(user, self._clock.now(), self._flow_ttl)
        return Standing(
            user_id=user.id,
            name=display_name(user),
            timezone=user.timezone,
            awaiting=None if expired else user.awaiting,
            draft=None if expired else user.draft,
            patient_circle_id=patient_circle_id,
            helping=tuple(helping),
            flow_rev=user.flow_rev,
            expired=user.awaiting if expired else None,
        )

    async def _require_patient(self, session: AsyncSession, user_id: int) -> int:
        circle_id = await patient_circle_id(session, user_id)
        if circle_id is not None:
            return circle_id
        standing = await self._standing(session, user_id)
        raise NotPatient() if standing.is_helper else NotRegistered()

    async def _end_membership(
        self, session: AsyncSession, membership: Membership, status: MemberStatus
    ) -> None:
        # Conditional, so a double tap or a resent update ends it only once.
        result = await session.execute(
            update(Membership)
            .where(Membership.id == membership.id, Membership.status == MemberStatus.ACTIVE)
            .values(status=status, ended_at=self._clock.now())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleAction()
        for hook in self._member_gone:
            await hook(session, membership.circle_id, membership.user_id)

    async def _circle_view(self, session: AsyncSession, circle_id: int) -> CircleView:
        circle = await session.get(Circle, circle_id)
        if circle is None:
            raise StaleAction()
        patient = await session.get(User, circle.patient_id)
        assert patient is not None
        rows = (
            await session.execute(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)
                .where(Membership.circle_id == circle_id, Membership.status == MemberStatus.ACTIVE)
                .order_by(Membership.joined_at, Membership.id)
            )
        ).all()
        members = tuple(
            Member(u.id, display_name(u), m.role, m.access, m.joined_at, u.reachable)
            for m, u in rows
        )
        return CircleView(circle.id, patient.id, display_name(patient), patient.timezone, members)


def _settings_of(circle: Circle) -> CircleSettings:
    return CircleSettings(**{name: getattr(circle, name) for name in CIRCLE_SETTINGS})


def _stint(membership: Membership) -> int:
    """Tells one spell of membership from the next, for idempotency keys."""
    return int(membership.joined_at.timestamp())
