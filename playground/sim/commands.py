"""The bot's identity and its command menus: getMe, setMyCommands and the like."""

from __future__ import annotations

import json
import re

from playground.sim.api import JSON, bad_request
from playground.sim.core import _Core

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class _Commands(_Core):
    """getMe, close/logOut and the command menus per scope and language."""

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """What setMyCommands stored for ``scope`` (default scope when omitted)."""
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    async def _returns_true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command"))):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code") or "")
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    async def _delete_my_commands(self, params: JSON) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code") or "")
        self._commands.pop(key, None)
        return True

    async def _set_description(self, field: str, limit: int, params: JSON) -> bool:
        text = params.get(field) or ""
        if not isinstance(text, str) or len(text) > limit:
            raise bad_request(f"{field.upper()}_INVALID")
        self.descriptions[(field, params.get("language_code") or "")] = text
        return True

    async def _get_description(self, field: str, params: JSON) -> JSON:
        return {field: self.descriptions.get((field, params.get("language_code") or ""), "")}

    @staticmethod
    def _commands_key(scope: JSON | None, language_code: str) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code
