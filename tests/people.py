"""The people of the tests: Pat's circle, another patient, and someone in no circle at all.

Ids are Telegram user ids (and private chat ids); helpers' ids sort in the order they are
listed, close family before errand helpers.
"""

from __future__ import annotations

from bot.services.circles import Person

PAT = Person(100, "Pat", username="pat_b")  # the patient
SAM = Person(101, "Sam")  # another patient (Anna helps them too, in some tests)
ANNA = Person(201, "Anna")  # close family, joined first
BEN = Person(202, "Ben")  # close family
CARA = Person(203, "Cara")  # close family
DAN = Person(204, "Dan")  # close family
ANNABEL = Person(205, "Annabel")  # a name that starts like Anna's
ERRI = Person(301, "Erri")  # errand helper
EVE = Person(302, "Eve")  # errand helper
STRANGER = Person(900, "Mallory")  # in nobody's circle
