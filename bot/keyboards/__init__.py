"""Every button layout, as plain data (bot.render turns them into Telegram keyboards).

Like bot.texts, one flat namespace on purpose: callers write `from bot import keyboards` and
`keyboards.need_offer(...)`; the modules only split the layouts by feature. Each module
declares `__all__` and this file star-imports it, so the re-exports never drift from the
modules and no module's own imports leak into the namespace.
"""

from bot.keyboards.circle import *  # noqa: F403
from bot.keyboards.common import *  # noqa: F403
from bot.keyboards.dose_groups import *  # noqa: F403
from bot.keyboards.meds import *  # noqa: F403
from bot.keyboards.needs import *  # noqa: F403
from bot.keyboards.onboarding import *  # noqa: F403
from bot.keyboards.privacy import *  # noqa: F403
from bot.keyboards.recovery import *  # noqa: F403
from bot.keyboards.settings import *  # noqa: F403
