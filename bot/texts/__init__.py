"""Every word the bot says, in one place. Messages are HTML; user input is escaped here, once.

This package is the app's one place for words, so its namespace is flat on purpose: callers
write `from bot import texts` and `texts.need_offer(...)`, whichever module the words live in,
and a translation later swaps one namespace. The modules only split the words by feature
(onboarding, circle, needs, meds, recovery, privacy, …); `times` is the one place a local time
or date is written for a person.

Each module declares `__all__`, and this file re-exports them with a star import per module:
an explicit list of a few hundred names (one a line once formatted) would outgrow the modules
it lists, and `__all__` keeps each module's own imports out of the namespace.
"""

from bot.texts.availability import *  # noqa: F403
from bot.texts.circle import *  # noqa: F403
from bot.texts.commands import *  # noqa: F403
from bot.texts.common import *  # noqa: F403
from bot.texts.conversation import *  # noqa: F403
from bot.texts.dose_groups import *  # noqa: F403
from bot.texts.doses import *  # noqa: F403
from bot.texts.errors import *  # noqa: F403
from bot.texts.med_adding import *  # noqa: F403
from bot.texts.med_list import *  # noqa: F403
from bot.texts.med_refusals import *  # noqa: F403
from bot.texts.meds import *  # noqa: F403
from bot.texts.needs import *  # noqa: F403
from bot.texts.needs_overview import *  # noqa: F403
from bot.texts.onboarding import *  # noqa: F403
from bot.texts.privacy import *  # noqa: F403
from bot.texts.reach import *  # noqa: F403
from bot.texts.recovery import *  # noqa: F403
from bot.texts.settings import *  # noqa: F403
from bot.texts.times import *  # noqa: F403
