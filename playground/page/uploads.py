"""Photos and voice notes picked on the page: read, size-checked and recognised by content."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import BodyPartReader, web

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FIELD_BYTES = 8 * 1024
MAX_DURATION = 3600
# What a file starts with → its type; the name and the browser's claimed type are not trusted.
SIGNATURES: dict[str, tuple[tuple[int, bytes, str], ...]] = {
    "photo": (
        (0, b"\xff\xd8\xff", "image/jpeg"),
        (0, b"\x89PNG\r\n\x1a\n", "image/png"),
        (0, b"GIF87a", "image/gif"),
        (0, b"GIF89a", "image/gif"),
        (8, b"WEBP", "image/webp"),
    ),
    "voice": (
        (0, b"OggS", "audio/ogg"),
        (0, b"\x1a\x45\xdf\xa3", "audio/webm"),
        (0, b"ID3", "audio/mpeg"),
        (0, b"\xff\xfb", "audio/mpeg"),
        (0, b"\xff\xf3", "audio/mpeg"),
        (8, b"WAVE", "audio/wav"),
        (4, b"ftyp", "audio/mp4"),
    ),
}
NAMES = {
    "photo": "a photo (JPEG, PNG, GIF or WebP)",
    "voice": "a sound file (Ogg, WebM, MP3, WAV or M4A)",
}


class UploadError(ValueError):
    """The upload is not what it should be; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    data: bytes
    mime: str
    caption: str | None = None
    duration: int = 3


def recognise(kind: str, data: bytes) -> str | None:
    """The MIME type of ``data`` if it is a file of this kind, else None."""
    for offset, magic, mime in SIGNATURES[kind]:
        riff = offset != 8 or data[:4] == b"RIFF"  # WebP and WAV are both RIFF files
        if data[offset : offset + len(magic)] == magic and riff:
            return mime
    return None


async def read_upload(request: web.Request, kind: str) -> Upload:
    """The multipart form's ``file`` (and ``caption`` / ``duration``), checked."""
    if request.content_type != "multipart/form-data":
        raise UploadError(415, "send the file as a form upload")
    reader = await request.multipart()
    data: bytes | None = None
    fields: dict[str, str] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise UploadError(400, "one file at a time")
        if part.name == "file":
            data = await _read_limited(part, MAX_FILE_BYTES, "the file is larger than 10 MB")
        elif part.name in ("caption", "duration"):
            raw = await _read_limited(part, MAX_FIELD_BYTES, f"the {part.name} is too long")
            fields[part.name] = raw.decode("utf-8", errors="replace")
        else:
            await part.release()
    if not data:
        raise UploadError(400, "no file was picked")
    mime = recognise(kind, data)
    if mime is None:
        raise UploadError(415, f"that is not {NAMES[kind]}")
    duration = fields.get("duration", "3")
    if not duration.isdigit() or not 1 <= int(duration) <= MAX_DURATION:
        raise UploadError(400, "the duration is a whole number of seconds (1 to 3600)")
    return Upload(data, mime, fields.get("caption"), int(duration))


async def _read_limited(part: BodyPartReader, limit: int, too_long: str) -> bytes:
    chunks, size = [], 0
    while chunk := await part.read_chunk():
        size += len(chunk)
        if size > limit:
            raise UploadError(413, too_long)
        chunks.append(chunk)
    return b"".join(chunks)
