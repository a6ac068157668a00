"""Text formatting: HTML and MarkdownV2 into plain text and entities, following tdlib's parsers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playground.sim.api import JSON, bad_request


class EntityParseError(Exception):
    """The text is not valid for its parse_mode; the message becomes "can't parse entities"."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _is_space(char: str) -> bool:
    return char != "" and char in " \t\r\n\v\f"


_HTML_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference starting at ``text[pos] == '&'`` like tdlib does.

    Returns ``(character, next_index)``, or ``None`` when the ``&`` is just a literal ampersand.
    Telegram keeps unknown references literally; we reject ``&name;`` because it always means
    the bot expected browser HTML (``&nbsp;``) and the user would see the raw reference.
    """
    end, n = pos + 1, len(text)
    if end < n and text[end] == "#":
        end += 1
        is_hex = end < n and text[end] == "x"
        end += is_hex
        start = end
        digits = "0123456789abcdefABCDEF" if is_hex else "0123456789"
        while end < n and text[end] in digits:
            end += 1
        if start == end or end - pos >= 10:
            return None
        code = int(text[start:end], 16 if is_hex else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _HTML_NAMED_ENTITIES:
            if name and end < n and text[end] == ";":
                raise EntityParseError(
                    f'Unsupported HTML entity "&{name};" at byte offset {_byte_offset(text, pos)}'
                )
            return None
        char = _HTML_NAMED_ENTITIES[name]
    if end < n and text[end] == ";":
        end += 1
    return char, end


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram's HTML subset into ``(plain_text, entities)``; errors mirror tdlib's."""
    out: list[str] = []
    u16 = 0
    stack: list[tuple[str, str, int]] = []  # (tag, argument, utf-16 start offset)
    entities: list[JSON] = []
    n, i = len(text), 0

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def fail(reason: str, pos: int) -> EntityParseError:
        return EntityParseError(f"{reason} at byte offset {_byte_offset(text, pos)}")

    while i < n:
        char = text[i]
        if char == "&" and (decoded := _decode_html_entity(text, i)) is not None:
            char, i = decoded
            out.append(char)
            u16 += utf16_len(char)
            continue
        if char != "<":
            out.append(char)
            u16 += utf16_len(char)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) == "/":  # end tag
            if not stack:
                raise fail("Unexpected end tag", begin)
            j = i + 1
            while j < n and not _is_space(text[j]) and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j]
            while _is_space(at(j)):
                j += 1
            if at(j) != ">":
                raise fail("Unclosed end tag", begin)
            tag, argument, start = stack.pop()
            if end_name and end_name.lower() != tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            _add_html_entity(entities, tag, argument, start, u16)
            i = j + 1
            continue

        j = i  # start tag
        while j < n and not _is_space(text[j]) and text[j] != ">":
            j += 1
        if j >= n:
            raise fail("Unclosed start tag", begin)
        tag = text[i:j].lower()
        if tag not in _HTML_TAG_ENTITY:
            raise fail(f'Unsupported start tag "{tag}"', begin)
        argument = ""
        while at(j) != ">":
            while _is_space(at(j)):
                j += 1
            if at(j) == ">":
                break
            if j >= n:
                raise fail("Unclosed start tag", begin)
            name_start = j
            while j < n and not _is_space(text[j]) and text[j] not in "=>":
                j += 1
            attribute = text[name_start:j]
            if not attribute:
                raise fail(f'Empty attribute name in the tag "{tag}"', begin)
            while _is_space(at(j)):
                j += 1
            if at(j) != "=":
                if tag == "blockquote" and attribute == "expandable":
                    argument = "expandable"
                    continue
                raise fail(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
                )
            j += 1
            while _is_space(at(j)):
                j += 1
            if j >= n:
                raise fail(f'Unclosed start tag "{tag}"', begin)
            if text[j] not in "'\"":
                value_start = j
                while j < n and ((text[j].isascii() and text[j].isalnum()) or text[j] in ".-"):
                    j += 1
                value = text[value_start:j].lower()
                if not _is_space(at(j)) and at(j) != ">":
                    raise fail("Unexpected end of name token", value_start)
            else:
                quote, j = text[j], j + 1
                chars: list[str] = []
                while j < n and text[j] != quote:
                    if text[j] == "&" and (dec := _decode_html_entity(text, j)) is not None:
                        chars.append(dec[0])
                        j = dec[1]
                        continue
                    chars.append(text[j])
                    j += 1
                j += 1 if j < n else 0
                value = "".join(chars)
            if j >= n:
                raise fail("Unclosed start tag", begin)
            if tag == "a" and attribute == "href":
                argument = value
            elif tag == "code" and attribute == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
            elif tag == "tg-emoji" and attribute == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"', begin)
        stack.append((tag, argument, u16))
        i = j + 1

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)  # only meaningful when merged into <pre>
    return "".join(out), entities


def _add_html_entity(entities: list[JSON], tag: str, argument: str, start: int, end: int) -> None:
    if end <= start:
        return
    entity: JSON = {"type": _HTML_TAG_ENTITY[tag], "offset": start, "length": end - start}
    if tag == "a":
        if not argument:
            return
        entity["url"] = argument
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = argument
    elif tag == "blockquote" and argument == "expandable":
        entity["type"] = "expandable_blockquote"
    elif tag == "code" and argument:
        entity["language"] = argument
    elif tag == "pre" and entities:
        inner = entities[-1]  # <pre><code class="language-x">...</code></pre>
        if inner["type"] == "code" and (inner["offset"], inner["length"]) == (start, end - start):
            entities.pop()
            if inner.get("language"):
                entity["language"] = inner["language"]
    entities.append(entity)


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    """Parse MarkdownV2 like tdlib: every reserved character outside an entity must be escaped.

    Supported: bold, italic, underline, strikethrough, spoiler, code, pre, links, custom emoji
    and ``>`` block quotes (not the expandable ``**>`` form).
    """
    out: list[str] = []
    u16 = 0
    stack: list[JSON] = []
    entities: list[JSON] = []
    quote_start: int | None = None
    n, i = len(text), 0

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def append(char: str) -> None:
        nonlocal u16
        out.append(char)
        u16 += utf16_len(char)

    while i < n:
        char = text[i]
        top = stack[-1]["type"] if stack else None
        in_code = top in ("code", "pre")
        if char == "\\" and 0 < ord(at(i + 1) or "\0") <= 126:
            append(text[i + 1])
            i += 2
            continue
        if char == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = u16
            i += 1
            continue
        if char == "\n" and quote_start is not None and at(i + 1) != ">":
            entities.append(
                {"type": "blockquote", "offset": quote_start, "length": u16 - quote_start}
            )
            quote_start = None
        if char not in ("`" if in_code else _MDV2_RESERVED):
            append(char)
            i += 1
            continue

        closes = {
            "bold": char == "*",
            "italic": char == "_" and at(i + 1) != "_",
            "underline": char == "_" and at(i + 1) == "_",
            "strikethrough": char == "~",
            "spoiler": char == "|" and at(i + 1) == "|",
            "code": char == "`",
            "pre": text.startswith("```", i),
            "text_link": char == "]",
            "custom_emoji": char == "]",
        }
        if top is None or not closes[top]:
            begin, argument = i, ""
            if char == "_" and at(i + 1) == "_":
                kind, i = "underline", i + 1
            elif char == "_":
                kind = "italic"
            elif char == "*":
                kind = "bold"
            elif char == "~":
                kind = "strikethrough"
            elif char == "|" and at(i + 1) == "|":
                kind, i = "spoiler", i + 1
            elif char == "[":
                kind = "text_link"
            elif char == "!" and at(i + 1) == "[":
                kind, i = "custom_emoji", i + 1
            elif char == "`" and text.startswith("```", i):
                kind, i = "pre", i + 3
                lang_end = i
                while lang_end < n and not _is_space(text[lang_end]) and text[lang_end] != "`":
                    lang_end += 1
                if lang_end != i and at(lang_end) != "`":
                    argument, i = text[i:lang_end], lang_end
                if at(i) in ("\n", "\r"):
                    i += 2 if at(i + 1) in ("\n", "\r") and at(i + 1) != at(i) else 1
                i -= 1
            elif char == "`":
                kind = "code"
            else:
                raise EntityParseError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append(
                {"type": kind, "start": u16, "byte": _byte_offset(text, begin), "arg": argument}
            )
            stack[-1]["out_len"] = len(out)
            i += 1
            continue

        entity = stack.pop()
        kind = entity["type"]
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind == "pre":
            i += 2
        elif kind in ("text_link", "custom_emoji"):
            if at(i + 1) != "(":
                entity["arg"] = "".join(out[entity["out_len"] :])
            else:
                i += 2
                url_begin, url = i, []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and 0 < ord(at(i + 1) or "\0") <= 126:
                        url.append(text[i + 1])
                        i += 2
                        continue
                    url.append(text[i])
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
                    )
                entity["arg"] = "".join(url)
        if u16 > entity["start"]:
            result: JSON = {
                "type": kind,
                "offset": entity["start"],
                "length": u16 - entity["start"],
            }
            if kind == "text_link":
                result["url"] = entity["arg"]
            elif kind == "custom_emoji":
                result["custom_emoji_id"] = entity["arg"].rpartition("id=")[2]
            elif kind == "pre" and entity["arg"]:
                result["language"] = entity["arg"]
            entities.append(result)
        i += 1

    if stack:
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[stack[-1]['type']]} entity at byte offset "
            f"{stack[-1]['byte']}"
        )
    if quote_start is not None and u16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": u16 - quote_start})
    return "".join(out), entities


_PARSERS: dict[str, Callable[[str], tuple[str, list[JSON]]]] = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": lambda text: (text, []),  # legacy mode: accepted, not validated
}


def format_text(text: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[JSON]]:
    """Turn a text parameter into ``(plain_text, entities)`` as Telegram stores it.

    Explicit ``entities`` win over ``parse_mode``; the result is trimmed of surrounding
    whitespace like Telegram does. Raises :class:`ApiError` for unparsable text.
    """
    if entities is not None:
        if not isinstance(entities, list):
            raise bad_request("can't parse entities JSON object")
        plain, parsed = text, [dict(e) for e in entities]
    elif parse_mode:
        parser = _PARSERS.get(parse_mode.lower())
        if parser is None:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        try:
            plain, parsed = parser(text)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        plain, parsed = text, []
    return _trim(plain, parsed)


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    whitespace = " \t\r\n\v\f"
    left = text.lstrip(whitespace)
    shift = utf16_len(text[: len(text) - len(left)])
    result = left.rstrip(whitespace)
    total = utf16_len(result)
    trimmed = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    trimmed.sort(key=lambda e: (e["offset"], -e["length"]))
    return result, trimmed
