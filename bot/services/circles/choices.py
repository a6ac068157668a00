"""Care circles: the patient's choices (circle settings, helpers' access)."""

from __future__ import annotations

from bot import texts
from bot.db.circles import active_membership, display_name, require_patient
from bot.db.models import Access, Circle, Role, User
from bot.domain.errors import StaleAction
from bot.events import log_event
from bot.notify import OutMessage
from bot.services.circles.core import _Core, log
from bot.services.circles.views import CIRCLE_SETTINGS, CircleSettings, _settings_of


class _Choices(_Core):
    """The patient's settings for the circle and each helper's access."""

    # --- the patient's choices ---------------------------------------------------------

    async def settings(self, patient_id: int) -> CircleSettings:
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, patient_id)
            circle = await session.get(Circle, circle_id)
            assert circle is not None
            return _settings_of(circle)

    async def toggle_setting(self, patient_id: int, name: str) -> CircleSettings:
        if name not in CIRCLE_SETTINGS:
            raise StaleAction()
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, patient_id)
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
            circle_id = await require_patient(session, patient_id)
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
