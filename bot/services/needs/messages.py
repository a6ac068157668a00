"""Needs: the messages about a need, sent, edited and withdrawn."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.db.circles import display_name
from bot.db.models import Need, NeedOffer, User
from bot.db.needs import live_offers, owner_views
from bot.notify import OutMessage
from bot.services.needs.state import _Core
from bot.services.needs.views import _card, _media, _refs, _zone


class _Messages(_Core):
    """What offers and owners' views say, and taking their buttons away."""

    # --- internals: messages -----------------------------------------------------------

    def _offer_message(self, need: Need, patient: User, helper: User) -> OutMessage:
        return OutMessage(
            texts.need_offer(
                display_name(patient), _card(need), _zone(helper, patient), self._clock.now()
            ),
            keyboards.need_offer(need.id),
            _media(need),
        )

    async def _close_offers(
        self,
        session: AsyncSession,
        need: Need,
        patient: User,
        how: str,
        *,
        owner: User | None = None,
        pressed: int | None = None,
    ) -> None:
        """Stop every live offer asking: "Taken by …", or why it is no longer needed. The
        owner's own messages turn into their "Done" / "Can't make it" view instead (all but
        the one they `pressed` the button on)."""
        now = self._clock.now()
        card = _card(need)
        for offer, helper in await live_offers(session, need.id):
            zone = _zone(helper, patient)
            if owner is not None and helper.id == owner.id:
                for ref in _refs(offer):
                    if await self._notifier.cancel(session, ref):
                        continue  # held by quiet hours and never sent: nothing to show
                    offer.owner_view = True
                    await self._notifier.edit(
                        session,
                        key=f"{ref}:v{need.version}",
                        ref_key=ref,
                        message=OutMessage(
                            texts.need_owner_view(display_name(patient), card, zone, now),
                            keyboards.need_owner(need.id),
                            _media(need) if ref == offer.offer_key else None,
                        ),
                        kind="need.owner",
                        skip_message_id=pressed,
                    )
                offer.closed_at = now
                continue
            if owner is not None:
                text = texts.need_taken_view(
                    display_name(patient), card, display_name(owner), zone, now
                )
            else:
                text = texts.need_finished_view(display_name(patient), card, how)
            await self._withdraw(session, offer, need, OutMessage(text, media=_media(need)), now)

    async def _withdraw(
        self,
        session: AsyncSession,
        offer: NeedOffer,
        need: Need,
        message: OutMessage,
        now: dt.datetime,
    ) -> None:
        """An unsent offer is cancelled; a sent one is edited to `message` (no buttons)."""
        for ref in _refs(offer):
            if await self._notifier.cancel(session, ref):
                continue
            media = message.media if ref == offer.offer_key else None
            await self._notifier.edit(
                session,
                key=f"{ref}:v{need.version}",
                ref_key=ref,
                message=OutMessage(message.text, (), media),
                kind="need.closed",
            )
        offer.closed_at = offer.closed_at or now

    async def _finish_owner_views(
        self,
        session: AsyncSession,
        need: Need,
        patient: User,
        owner_id: int,
        how: str,
        *,
        pressed: int | None = None,
    ) -> None:
        """The owner's "Done" / "Can't make it" messages lose their buttons at the end (all
        but the one they `pressed` the button on)."""
        text = texts.need_finished_view(display_name(patient), _card(need), how)
        for offer in await owner_views(session, need.id, owner_id):
            for ref in _refs(offer):
                await self._notifier.edit(
                    session,
                    key=f"{ref}:v{need.version}",
                    ref_key=ref,
                    message=OutMessage(text, (), _media(need) if ref == offer.offer_key else None),
                    kind="need.closed",
                    skip_message_id=pressed,
                )
            offer.owner_view = False
