"""Data rights against a real database, with the services wired as create_services wires them:
what an export holds (and, for a helper, what it must not), and deleting a patient, a helper,
someone who is both — once, however often they tap."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import or_, select, update

from bot import texts
from bot.db.models import (
    FORMER_HELPER_ID,
    Base,
    DoseOccurrence,
    Medication,
    Membership,
    Need,
    NeedOffer,
    OutboxMessage,
    User,
)
from bot.domain.errors import DoseAlreadyRecorded, ExportTooLarge
from bot.domain.recovery import Stage
from bot.notify import KEEP_AFTER_SEND, OutMessage
from bot.services.circles import Person
from bot.services.privacy import EXPORT_FORMAT
from bot.services.privacy import export as privacy_export
from bot.services.retention import Pruned
from tests.integration.test_delivery import ScriptedBot
from tests.people import ANNA, ANNABEL, BEN, ERRI, PAT, SAM, STRANGER
from tests.rig import Rig

UTC = dt.UTC
AT_TEN = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 11:00 in Berlin

# The tables that a patient's full circle fills (below): each must be emptied of it.
CIRCLE_TABLES = {
    "circles",
    "memberships",
    "invites",
    "outbox",
    "needs",
    "need_offers",
    "medications",
    "dose_occurrences",
    "recovery_plans",
    "stage_changes",
    "tips_shown",
    "pain_reports",
    "daily_checkins",
    "helper_tip_optins",
}


@dataclass
class Filled:
    circle_id: int
    sam_circle_id: int
    done_need: int  # taken and done by Anna, thanked
    held_need: int  # taken by Ben
    open_need: int
    med_id: int
    dose_id: int  # given by Anna


async def fill(rig: Rig) -> Filled:
    """Pat's circle with something in every table; Sam's circle beside it."""
    circle_id = await rig.patient(PAT, stage=Stage.ACUTE)
    await rig.join(ANNA, BEN)
    await rig.join(ERRI, access="errand")
    sam_circle_id = await rig.patient(SAM, stage=Stage.ACUTE)
    await rig.join(ANNA, patient=SAM)
    await rig.circles.toggle_setting(PAT.id, "helpers_mark_given")
    await rig.circles.toggle_setting(PAT.id, "helpers_manage_meds")
    await rig.availability.away(BEN.id, 2)

    done_need = await rig.needs.post_need(PAT.id, "Please pick up my prescription")
    await rig.needs.claim(ANNA.id, done_need)
    await rig.needs.complete(ANNA.id, done_need)
    await rig.needs.thank(PAT.id, done_need)
    held_need = await rig.needs.post_need(PAT.id, "Could someone bring soup?")
    await rig.needs.claim(BEN.id, held_need)
    open_need = await rig.needs.post_need(PAT.id, "A glass of water, please")

    med = (await rig.meds.add_line(PAT.id, "Ibuprofen | 400 mg | 11:00, 20:00")).med
    # Anna adds one too (close family may, in this circle).
    await rig.meds.add_line(ANNA.id, "Paracetamol | 500 mg | 09:00")
    await rig.recovery.set_helper_tips(ANNA.id, True)

    rig.clock.set(AT_TEN)  # the daily tip, the check-in and the first reminder are due
    await rig.meds.run_due(AT_TEN)
    await rig.recovery.run_due(AT_TEN)
    await rig.recovery.record_pain(PAT.id, 6, key="pain-1", source="command")
    await rig.recovery.choose_stage(PAT.id, Stage.EASING)
    await rig.recovery.tip_now(PAT.id)
    async with rig.db.transaction() as session:
        dose_id = await session.scalar(
            select(DoseOccurrence.id).where(DoseOccurrence.medication_id == med.id)
        )
    assert dose_id is not None
    await rig.meds.give(ANNA.id, dose_id)

    await rig.needs.post_need(SAM.id, "Sam needs bread")
    return Filled(circle_id, sam_circle_id, done_need, held_need, open_need, med.id, dose_id)


# --- reading the database --------------------------------------------------------------------


async def rows_of_circle(rig: Rig, circle_id: int) -> dict[str, set[tuple[Any, ...]]]:
    """Primary keys of every row belonging to the circle, table by table, found from the
    models' metadata: rows with its circle_id, and rows whose parent has it."""
    found: dict[str, set[tuple[Any, ...]]] = {}
    async with rig.db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "circles":
                where = table.c.id == circle_id
            elif "circle_id" in table.c:
                where = table.c.circle_id == circle_id
            else:
                parents = [fk for fk in table.foreign_keys if "circle_id" in fk.column.table.c]
                if not parents:
                    continue
                where = or_(
                    *(
                        fk.parent.in_(
                            select(fk.column).where(fk.column.table.c.circle_id == circle_id)
                        )
                        for fk in parents
                    )
                )
            keys = list(table.primary_key.columns)
            found[table.name] = {
                tuple(r) for r in await session.execute(select(*keys).where(where))
            }
    return found


async def still_there(rig: Rig, rows: dict[str, set[tuple[Any, ...]]]) -> dict[str, int]:
    """How many of these rows still exist, per table."""
    left: dict[str, int] = {}
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    async with rig.db.transaction() as session:
        for name, keys in rows.items():
            table = tables[name]
            now = {tuple(r) for r in await session.execute(select(*table.primary_key.columns))}
            if now & keys:
                left[name] = len(now & keys)
    return left


async def user_row(rig: Rig, user_id: int) -> User | None:
    async with rig.db.transaction() as session:
        return await session.get(User, user_id)


def instants(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (path, value) in an export whose key names an instant."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith(("_at", "_since", "_until")) and item is not None:
                found.append((f"{path}.{key}", item))
            else:
                found += instants(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += instants(item, f"{path}[{index}]")
    return found


# --- export ----------------------------------------------------------------------------------


async def test_a_patients_export_holds_their_whole_circle(rig: Rig) -> None:
    filled = await fill(rig)
    exported = await rig.privacy.export_file(PAT.id)
    assert exported.filename == "carecircle-export-2026-03-02.json"
    doc = json.loads(exported.content)
    assert doc == await rig.privacy.export(PAT.id)  # the file is the service's dict

    assert doc["format"] == EXPORT_FORMAT == "carecircle-export/1"
    assert doc["profile"]["first_name"] == "Pat" and doc["profile"]["username"] == "pat_b"
    assert doc["profile"]["time_zone"] == "Europe/Berlin"
    [membership] = doc["memberships"]
    assert membership["role"] == "patient" and membership["circle_id"] == filled.circle_id
    assert doc["helping"] == []

    circle = doc["my_circle"]
    assert circle["settings"]["helpers_mark_given"] is True
    assert [(m["name"], m["role"], m["access"]) for m in circle["members"]] == [
        ("you", "patient", "close"),
        ("Anna", "helper", "close"),
        ("Ben", "helper", "close"),
        ("Erri", "helper", "errand"),
    ]
    assert circle["members"][1]["helper_tips_since"] is not None
    needs = {n["text"]: n for n in circle["needs"]}
    done = needs["Please pick up my prescription"]
    assert (done["state"], done["taken_by"]) == ("done", "Anna")
    assert done["done_at"] and done["thanked_at"]
    assert (
        needs["Could someone bring soup?"]["taken_by"],
        needs["A glass of water, please"]["taken_by"],
    ) == ("Ben", None)

    meds = {m["name"]: m for m in circle["medications"]}
    ibuprofen = meds["Ibuprofen"]
    assert (ibuprofen["dose"], ibuprofen["times_local"], ibuprofen["added_by"]) == (
        "400 mg",
        ["11:00", "20:00"],
        "you",
    )
    assert meds["Paracetamol"]["added_by"] == "Anna"
    [dose] = ibuprofen["doses"]
    assert (dose["state"], dose["recorded_by"], dose["slot_local"]) == (
        "taken",
        "Anna",
        "2026-03-02T11:00",
    )
    assert [p["score"] for p in circle["pain_reports"]] == [6]
    assert [(s["from"], s["to"]) for s in circle["stage_changes"]] == [
        (None, "acute"),
        ("acute", "easing"),
    ]
    assert circle["tips_shown"] and all(t["tip_id"] for t in circle["tips_shown"])
    assert [c["state"] for c in circle["checkins"]] == ["answered"]
    assert circle["recovery"]["stage"] == "easing"
    assert circle["recovery"]["daily_checkin"] == {"on": True, "time_local": "11:00"}
    assert [i["used_by"] for i in circle["invites"]] == ["Anna", "Ben", "Erri"]

    # Every instant is ISO 8601 in UTC.
    found = instants(doc)
    assert len(found) > 20
    for path, value in found:
        parsed = dt.datetime.fromisoformat(value)
        assert parsed.utcoffset() == dt.timedelta(0), path


async def test_a_helpers_export_holds_only_what_they_did(rig: Rig) -> None:
    filled = await fill(rig)
    doc = await rig.privacy.export(ANNA.id)
    assert doc["my_circle"] is None
    assert [(m["patient"], m["role"]) for m in doc["memberships"]] == [
        ("Pat", "helper"),
        ("Sam", "helper"),
    ]
    at_pat, at_sam = doc["helping"]
    assert at_pat["circle_id"] == filled.circle_id and at_pat["helper_tips_since"]
    assert [n["text"] for n in at_pat["needs_taken"]] == ["Please pick up my prescription"]
    assert at_pat["thanks_received"] == 1
    [given] = at_pat["doses_you_acted_on"]
    assert (given["medication"], given["action"], given["state"]) == (
        "Ibuprofen",
        "recorded",
        "taken",
    )
    assert at_sam["needs_taken"] == [] and at_sam["doses_you_acted_on"] == []

    # Nothing of Pat's health data she did not act on herself.
    text = json.dumps(doc)
    for private in (
        "soup",
        "glass of water",
        "Sam needs bread",
        "20:00",
        "pain",
        "stage",
        "easing",
    ):
        assert private not in text, private
    assert "Paracetamol" not in text  # she added it, but never gave a dose of it

    # An errand helper who did nothing has nothing of Pat's at all.
    errand = json.dumps(await rig.privacy.export(ERRI.id))
    for private in ("Ibuprofen", "prescription", "soup", "water", "score"):
        assert private not in errand, private


async def test_a_stranger_exports_just_a_name(rig: Rig) -> None:
    await rig.circles.touch(STRANGER)
    doc = await rig.privacy.export(STRANGER.id)
    assert doc["profile"]["first_name"] == "Mallory"
    assert doc["memberships"] == [] and doc["my_circle"] is None and doc["helping"] == []
    preview = await rig.privacy.deletion_preview(STRANGER.id)
    assert not preview.has_data
    # Half-way through "I'm helping someone": that much is theirs, and shown.
    await rig.circles.set_awaiting(STRANGER.id, "join_code")
    doc = await rig.privacy.export(STRANGER.id)
    assert doc["profile"]["unfinished"] == {"waiting_for": "join_code", "answers_so_far": None}
    assert (await rig.privacy.deletion_preview(STRANGER.id)).has_data


async def test_an_export_too_big_for_telegram_is_refused_kindly(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(rig)
    size = len((await rig.privacy.export_file(PAT.id)).content)
    compact = len(json.dumps(await rig.privacy.export(PAT.id), separators=(",", ":")).encode())
    monkeypatch.setattr(privacy_export, "MAX_EXPORT_BYTES", size - 1)
    smaller = await rig.privacy.export_file(PAT.id)  # the compact form still fits
    assert len(smaller.content) < size and json.loads(smaller.content)["format"]
    monkeypatch.setattr(privacy_export, "MAX_EXPORT_BYTES", compact // 2)
    with pytest.raises(ExportTooLarge):
        await rig.privacy.export_file(PAT.id)


# --- a patient deletes -----------------------------------------------------------------------


async def test_a_patient_deleting_removes_every_row_of_their_circle(rig: Rig) -> None:
    filled = await fill(rig)
    await rig.deliver()  # some of the circle's messages went out already...
    await rig.needs.post_need(PAT.id, "One more thing")  # ...and some still wait
    assert await rig.outbox(circle_id=filled.circle_id, state="pending")
    before = await rows_of_circle(rig, filled.circle_id)
    assert {name for name, keys in before.items() if keys} == CIRCLE_TABLES
    sam_before = await rows_of_circle(rig, filled.sam_circle_id)

    preview = await rig.privacy.deletion_preview(PAT.id)
    assert preview.circle is not None and preview.circle.helpers == ("Anna", "Ben", "Erri")
    assert (preview.circle.needs, preview.circle.medications, preview.circle.doses) == (4, 2, 1)
    assert (preview.circle.pain_reports, preview.circle.stage_changes) == (1, 2)

    result = await rig.privacy.delete_everything(PAT.id)
    assert (result.nothing_left, result.circle_closed, result.helpers_told) == (False, True, 3)

    assert await still_there(rig, before) == {}
    assert await rows_of_circle(rig, filled.circle_id) == {t: set() for t in before}
    assert await rows_of_circle(rig, filled.sam_circle_id) == sam_before  # nothing else
    assert await user_row(rig, PAT.id) is None
    for helper in (ANNA, BEN, ERRI):
        assert await user_row(rig, helper.id) is not None

    standing = await rig.circles.standing(PAT.id)
    assert not standing.is_patient and not standing.is_helper


async def test_every_helper_is_told_and_nothing_else_about_the_circle_is_sent(rig: Rig) -> None:
    filled = await fill(rig)
    await rig.clear_outbox()
    await rig.needs.post_need(PAT.id, "Could someone call the pharmacy?")
    await rig.needs.post_need(SAM.id, "Sam needs milk")
    assert await rig.outbox(circle_id=filled.circle_id, state="pending")

    await rig.privacy.delete_everything(PAT.id)
    goodbyes = await rig.outbox(kind="privacy.circle_closed")
    assert sorted(g.chat_id for g in goodbyes) == [ANNA.id, BEN.id, ERRI.id]
    assert all(
        g.payload["text"] == "<b>Pat</b> has closed their care circle. Thank you for helping. 💛"
        for g in goodbyes
    )

    bot = await rig.send_all(ScriptedBot())
    sent = [(p["chat_id"], p["text"]) for m, p in bot.calls if m == "send_message"]
    assert sorted(chat for chat, text in sent if "has closed their care circle" in text) == [
        ANNA.id,
        BEN.id,
        ERRI.id,
    ]
    assert not any("pharmacy" in text for _, text in sent)  # the circle's queued request
    assert [chat for chat, text in sent if "Sam needs milk" in text] == [ANNA.id]
    assert len(sent) == 4


async def test_after_deleting_start_is_a_fresh_start(rig: Rig) -> None:
    old = (await fill(rig)).circle_id
    await rig.privacy.delete_everything(PAT.id)
    # Their next message stores their name again, as for anyone new.
    await rig.circles.touch(PAT)
    assert (await rig.circles.standing(PAT.id)).timezone is None
    await rig.circles.become_patient(PAT.id)
    await rig.circles.set_timezone(PAT.id, "Europe/Berlin")
    assert (await rig.circles.my_circle(PAT.id)).helpers == ()
    circle = (await rig.privacy.export(PAT.id))["my_circle"]
    assert [m["name"] for m in circle["members"]] == ["you"]
    for history in ("needs", "medications", "pain_reports", "stage_changes", "tips_shown"):
        assert circle[history] == [], history
    assert old > 0


# --- a helper deletes ------------------------------------------------------------------------


async def test_a_helper_deleting_releases_their_need_and_tells_the_patient(rig: Rig) -> None:
    filled = await fill(rig)
    await rig.clear_outbox()
    preview = await rig.privacy.deletion_preview(BEN.id)
    assert (preview.circle, preview.helping, preview.taken_needs) == (None, ("Pat",), 1)

    result = await rig.privacy.delete_everything(BEN.id)
    assert (result.circles_left, result.circle_closed, result.nothing_left) == (1, False, False)

    async with rig.db.transaction() as session:
        need = await session.get(Need, filled.held_need)
        assert need is not None and (need.state, need.owner_id) == ("open", None)
        assert need.released_by is None
        assert not list(
            await session.scalars(select(NeedOffer).where(NeedOffer.helper_id == BEN.id))
        )
        assert not list(
            await session.scalars(select(Membership).where(Membership.user_id == BEN.id))
        )
    assert await user_row(rig, BEN.id) is None
    to_pat = [m.payload["text"] for m in await rig.outbox(chat_id=PAT.id)]
    assert any("<b>Ben</b> has left your circle" in t for t in to_pat)
    assert any("soup" in t for t in to_pat)  # it is open again, and Pat hears so
    # The others are asked again; nothing is left queued for Ben.
    offers = await rig.outbox(kind="need.offer")
    assert {m.chat_id for m in offers} == {ANNA.id, ERRI.id}
    assert await rig.outbox(chat_id=BEN.id) == []


async def test_what_a_helper_did_stays_in_history_as_a_former_helper(rig: Rig) -> None:
    filled = await fill(rig)
    await rig.clear_outbox()
    result = await rig.privacy.delete_everything(ANNA.id)
    assert result.circles_left == 2  # Pat's and Sam's

    async with rig.db.transaction() as session:
        need = await session.get(Need, filled.done_need)
        dose = await session.get(DoseOccurrence, filled.dose_id)
        added = await session.scalar(select(Medication).where(Medication.name == "Paracetamol"))
    assert need is not None and (need.state, need.owner_id) == ("done", None)
    assert dose is not None and (dose.state, dose.recorded_by) == ("taken", FORMER_HELPER_ID)
    assert added is not None and added.created_by is None and added.deleted_at is None

    circle = (await rig.privacy.export(PAT.id))["my_circle"]
    needs = {n["text"]: n for n in circle["needs"]}
    assert needs["Please pick up my prescription"]["taken_by"] == "a former helper"
    meds = {m["name"]: m for m in circle["medications"]}
    assert meds["Ibuprofen"]["doses"][0]["recorded_by"] == "a former helper"
    assert meds["Paracetamol"]["added_by"] == "a former helper"
    assert "Anna" not in json.dumps(circle)
    # What Pat sees in the bot says the same.
    with pytest.raises(DoseAlreadyRecorded) as refused:
        await rig.meds.reminder(PAT.id, filled.dose_id)
    assert (refused.value.by_name, refused.value.by_patient) == ("a former helper", False)
    overview = await rig.needs.overview(PAT.id)
    listed = texts.needs_for_patient(
        [(v.card, v.state, v.owner_name, v.thanked) for v in overview.own], "Europe/Berlin", AT_TEN
    )
    assert "done by a former helper — thanked" in listed

    # Both patients are told, as by /leave.
    for patient in (PAT, SAM):
        texts_to = [m.payload["text"] for m in await rig.outbox(chat_id=patient.id)]
        assert any("<b>Anna</b> has left your circle" in t for t in texts_to), patient
    assert await rig.outbox(chat_id=ANNA.id) == []


# --- both, and idempotency -------------------------------------------------------------------


async def test_someone_who_is_patient_and_helper_closes_one_and_leaves_the_other(rig: Rig) -> None:
    filled = await fill(rig)
    own = await rig.patient(ANNA, stage=Stage.ACUTE)
    await rig.join(BEN, patient=ANNA)
    await rig.needs.post_need(ANNA.id, "Anna needs a lift")
    await rig.clear_outbox()
    before = await rows_of_circle(rig, own)
    pat_before = await rows_of_circle(rig, filled.circle_id)

    preview = await rig.privacy.deletion_preview(ANNA.id)
    assert preview.circle is not None and preview.circle.helpers == ("Ben",)
    assert preview.helping == ("Pat", "Sam")

    result = await rig.privacy.delete_everything(ANNA.id)
    assert (result.circle_closed, result.helpers_told, result.circles_left) == (True, 1, 2)
    assert await still_there(rig, before) == {}
    after = await rows_of_circle(rig, filled.circle_id)
    # Pat's circle keeps everything but Anna's own rows (her membership, offers, opt-in).
    assert after["needs"] == pat_before["needs"]
    assert after["dose_occurrences"] == pat_before["dose_occurrences"]
    assert len(after["memberships"]) == len(pat_before["memberships"]) - 1
    [goodbye] = await rig.outbox(kind="privacy.circle_closed")
    assert goodbye.chat_id == BEN.id and "<b>Anna</b> has closed" in goodbye.payload["text"]
    left = [m for m in await rig.outbox(kind="circle.left")]
    assert sorted(m.chat_id for m in left) == [PAT.id, SAM.id]


async def test_deleting_is_safe_to_repeat_and_to_race(rig: Rig) -> None:
    await fill(rig)
    await rig.clear_outbox()
    results = await asyncio.gather(*(rig.privacy.delete_everything(PAT.id) for _ in range(4)))
    assert sorted(r.nothing_left for r in results) == [False, True, True, True]
    assert len(await rig.outbox(kind="privacy.circle_closed")) == 3  # told once each

    # The confirm pressed again later: the press stored their name again, nothing more.
    await rig.circles.touch(PAT)
    assert not (await rig.privacy.deletion_preview(PAT.id)).has_data
    again = await rig.privacy.delete_everything(PAT.id)
    assert again.nothing_left and await user_row(rig, PAT.id) is None
    assert len(await rig.outbox(kind="privacy.circle_closed")) == 3
    # Helpers' own data is untouched by any of it.
    for helper in (ANNA, BEN, ERRI):
        assert await user_row(rig, helper.id) is not None
    assert (await rig.circles.standing(ANNA.id)).helping[0].patient_name == "Sam"


async def test_a_helper_racing_their_patient_leaves_a_consistent_database(rig: Rig) -> None:
    filled = await fill(rig)
    before = await rows_of_circle(rig, filled.circle_id)
    await asyncio.gather(
        rig.privacy.delete_everything(PAT.id), rig.privacy.delete_everything(BEN.id)
    )
    assert await still_there(rig, before) == {}
    assert await user_row(rig, PAT.id) is None and await user_row(rig, BEN.id) is None
    assert await user_row(rig, ANNA.id) is not None


# --- what the outbox keeps about people ------------------------------------------------------


def names(person: Person, payload: Any) -> bool:
    return re.search(rf"\b{re.escape(person.first_name)}\b", json.dumps(payload)) is not None


def carries_id(person: Person, row: OutboxMessage) -> bool:
    return any(str(person.id) in key.split(":") for key in (row.key, row.ref_key or "") if key)


async def test_no_stored_message_names_a_helper_who_deleted_their_data(rig: Rig) -> None:
    filled = await fill(rig)
    await rig.circles.touch(ANNABEL)
    invite = await rig.circles.invite(PAT.id, "close", replace=True)
    await rig.circles.join(ANNABEL.id, invite.code)
    await rig.deliver()  # "Anna marked your Ibuprofen … as given" went out, and the rest
    await rig.needs.claim(ANNA.id, filled.open_need)  # "Anna is on it", "Taken by Anna": queued
    before = await rig.outbox()
    sent_naming = [m for m in before if m.state == "sent" and names(ANNA, m.payload)]
    assert any(m.chat_id == PAT.id and "as given" in m.payload["text"] for m in sent_naming)
    assert any(m.state == "pending" and names(ANNA, m.payload) for m in before)
    assert any(carries_id(ANNA, m) for m in before if m.chat_id != ANNA.id)

    await rig.privacy.delete_everything(ANNA.id)

    after = await rig.outbox()
    assert not any(carries_id(ANNA, m) for m in after)
    for row in after:
        if row.state != "pending":
            assert not names(ANNA, row.payload), row.payload
        elif names(ANNA, row.payload["text"]):
            # Still to be delivered as it was written; only a copy without her is kept.
            assert not names(ANNA, row.payload[KEEP_AFTER_SEND]), row.payload
    given = next(m for m in after if m.key == f"dose:{filled.dose_id}:given")
    assert given.payload["text"].startswith("<b>A former helper</b> marked your <b>Ibuprofen")
    joined = [m.payload["text"] for m in after if m.kind == "circle.joined"]
    assert any("<b>Annabel</b> joined" in t for t in joined)  # Annabel keeps her name
    # Edits still find the message they change: every ref_key names a row that is there.
    keys = {m.key for m in after}
    assert all(m.ref_key in keys for m in after if m.ref_key and m.state == "pending")

    bot = await rig.send_all(ScriptedBot())
    delivered = [p["text"] for m, p in bot.calls if m in ("send_message", "edit_message_text")]
    assert "<b>Anna</b> has left your circle." in delivered  # Pat is told who left
    assert not any(names(ANNA, m.payload) or carries_id(ANNA, m) for m in await rig.outbox())


async def test_a_message_naming_them_that_is_withdrawn_or_undeliverable_forgets_them_too(
    rig: Rig,
) -> None:
    filled = await fill(rig)
    await rig.deliver()
    await rig.needs.claim(ANNA.id, filled.open_need)
    await rig.privacy.delete_everything(ANNA.id)
    waiting = [m for m in await rig.outbox(state="pending") if names(ANNA, m.payload["text"])]
    withdrawn = next(m for m in waiting if m.chat_id != PAT.id)
    async with rig.db.transaction() as session:
        assert await rig.notifier.cancel(session, withdrawn.key)
        await session.execute(update(User).where(User.id == PAT.id).values(reachable=False))
    assert any(m.chat_id == PAT.id for m in waiting)  # Pat's, which can no longer reach her

    await rig.send_all(ScriptedBot())
    rows = await rig.outbox()
    assert {m.state for m in rows if m.chat_id == PAT.id} == {"sent", "failed"}
    assert not any(names(ANNA, m.payload) for m in rows)


async def test_a_patients_goodbye_is_delivered_with_their_name_then_forgotten(rig: Rig) -> None:
    await fill(rig)
    await rig.clear_outbox()
    await rig.privacy.delete_everything(PAT.id)
    bot = await rig.send_all(ScriptedBot())
    told = [p for m, p in bot.calls if m == "send_message" and "closed their" in p["text"]]
    assert len(told) == 3 and all("<b>Pat</b>" in p["text"] for p in told)
    rows = await rig.outbox()
    assert rows and not any(names(PAT, m.payload) for m in rows)


async def test_closing_a_circle_clears_what_helpers_were_typing_for_it(rig: Rig) -> None:
    filled = await fill(rig)
    await rig.meds.start_add(ANNA.id, filled.circle_id)
    await rig.meds.add_answer(ANNA.id, "Medicine A")  # half-way through /addmed for Pat
    await rig.meds.begin_edit(BEN.id, filled.med_id, "times")
    await rig.circles.set_awaiting(ERRI.id, "join_code")  # nothing to do with Pat
    anna = await user_row(rig, ANNA.id)
    assert anna is not None and anna.draft and anna.draft["name"] == "Medicine A"

    await rig.privacy.delete_everything(PAT.id)

    for helper in (ANNA, BEN):
        row = await user_row(rig, helper.id)
        assert row is not None and (row.awaiting, row.draft) == (None, None), helper
    erri = await user_row(rig, ERRI.id)
    assert erri is not None and erri.awaiting == "join_code"


async def test_a_helper_made_errand_or_gone_gets_no_medication_in_their_export(rig: Rig) -> None:
    await fill(rig)

    async def at_pat() -> dict[str, Any]:
        helping: dict[str, Any] = (await rig.privacy.export(ANNA.id))["helping"][0]
        assert helping["patient"] == "Pat"
        return helping

    [given] = (await at_pat())["doses_you_acted_on"]
    assert given["medication"] == "Ibuprofen"  # close family: she may see it

    await rig.circles.set_access(PAT.id, ANNA.id, "errand")
    errand = await at_pat()
    for private in ("Ibuprofen", "400 mg", "Paracetamol"):
        assert private not in json.dumps(errand), private
    [given] = errand["doses_you_acted_on"]
    assert (given["action"], given["state"]) == ("recorded", "taken")
    assert given["due_at"] and given["recorded_at"]
    assert errand["medication_details"] == texts.EXPORT_MEDS_WITHHELD

    await rig.circles.set_access(PAT.id, ANNA.id, "close")
    await rig.circles.leave(ANNA.id, (await at_pat())["circle_id"])
    gone = await at_pat()
    assert gone["status"] == "left" and "Ibuprofen" not in json.dumps(gone)
    assert len(gone["doses_you_acted_on"]) == 1


async def test_old_messages_are_pruned_but_an_open_dose_or_request_can_still_be_edited(
    rig: Rig,
) -> None:
    await fill(rig)
    # Pat's 20:00 dose (19:00 UTC) is reminded, nudged, then missed and the family alerted.
    for minute in (0, 16, 46):
        rig.clock.set(dt.datetime(2026, 3, 2, 19, minute, tzinfo=UTC))
        await rig.meds.run_due(rig.clock.now())
    async with rig.db.transaction() as session:
        missed = await session.scalar(
            select(DoseOccurrence.id).where(DoseOccurrence.state == "missed")
        )
    assert missed is not None
    await rig.deliver()
    everything = await rig.outbox()
    assert any(m.key == f"dose:{missed}:alert:{ANNA.id}" for m in everything)

    rig.clock.advance(days=rig.settings.outbox_retention_days - 1)
    assert await rig.privacy.prune_outbox() == Pruned(deleted=0, emptied=0)  # not old enough

    rig.clock.advance(days=2)
    pruned = await rig.privacy.prune_outbox()
    kept = await rig.outbox()
    async with rig.db.transaction() as session:
        going = await session.scalars(select(Need.id).where(Need.state.in_(("open", "claimed"))))
        open_things = (f"dose:{missed}:", *(f"need:{need}:" for need in going))
    assert len(open_things) == 4  # Pat's open and held requests, and Sam's
    assert kept and [m.key for m in kept if not m.key.startswith(open_things)] == []
    assert {m.op for m in kept} == {"send"}
    assert {m.key for m in kept} >= {f"dose:{missed}:reminder", f"dose:{missed}:alert:{ANNA.id}"}
    assert all(m.payload == {"text": ""} and m.message_id for m in kept)  # the words go
    assert pruned == Pruned(deleted=len(everything) - len(kept), emptied=len(kept))
    assert await rig.privacy.prune_outbox() == Pruned(deleted=0, emptied=0)  # idempotent

    # Taken late, weeks on: the reminder and Anna's alert are still edited to say so.
    await rig.meds.take(PAT.id, missed)
    edits = {m.ref_key for m in await rig.outbox(op="edit")}
    assert {f"dose:{missed}:reminder", f"dose:{missed}:alert:{ANNA.id}"} <= edits
    await rig.deliver()
    rig.clock.advance(days=rig.settings.outbox_retention_days + 1)
    await rig.privacy.prune_outbox()
    assert not [m for m in await rig.outbox() if m.key.startswith(f"dose:{missed}:")]


async def test_pruning_never_takes_the_message_an_edit_on_its_way_needs(rig: Rig) -> None:
    await rig.circles.touch(PAT)
    async with rig.db.transaction() as session:
        await rig.notifier.send(
            session, key="test:1:note", chat_id=PAT.id, message=OutMessage("v1"), kind="test"
        )
    await rig.send_all(ScriptedBot())
    rig.clock.advance(days=rig.settings.outbox_retention_days + 1)
    async with rig.db.transaction() as session:
        assert await rig.notifier.edit(
            session, key="test:1:note:v2", ref_key="test:1:note", message=OutMessage("v2"), kind="t"
        )
    assert await rig.privacy.prune_outbox() == Pruned(deleted=0, emptied=1)
    bot = await rig.send_all(ScriptedBot())
    assert [(m, p["text"]) for m, p in bot.calls] == [("edit_message_text", "v2")]
    rig.clock.advance(days=rig.settings.outbox_retention_days + 1)
    await rig.privacy.prune_outbox()
    assert await rig.outbox() == []
