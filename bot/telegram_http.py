"""python-telegram-bot's networking on aiohttp, for the outbox dispatcher.

PTB's default HTTPX transport spends about a millisecond of CPU per call, and several
with many connections open (measured on the project's 2-core machine: about 300 calls a
second with 32 connections); aiohttp spends a fifth of that. The dispatcher's throughput
in paid broadcast mode (1000 messages a second) depends on it, so its Bot uses this
request class. PTB documents `BaseRequest` as the place to swap the transport; status
codes, `RetryAfter`, `Forbidden` and the rest are still decided by PTB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
from telegram import Bot
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput, UploadFileDict
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from bot.config import Settings


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool; PTB's timeouts honoured."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 32,
        read_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        media_write_timeout: float = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._media_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = (
            request_data.multipart_data if request_data and request_data.contains_files else None
        )
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        if files and isinstance(write_timeout, DefaultValue):
            read = max(read or 0.0, self._media_timeout)
        connect = (
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        )
        timeout = aiohttp.ClientTimeout(sock_connect=connect, sock_read=read)
        body: Any = None
        if request_data is not None:
            body = (
                _form(request_data.json_parameters, files)
                if files
                else request_data.json_parameters
            )
        try:
            async with self._session.request(method, url, data=body, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _form(parameters: dict[str, str], files: UploadFileDict) -> aiohttp.FormData:
    """Multipart form: the JSON-encoded parameters, then each file with its name and type."""
    form = aiohttp.FormData()
    for name, value in parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form


def sending_bot(token: str, settings: Settings, pool_size: int) -> Bot:
    """The Bot the dispatcher sends with: aiohttp, a pool as wide as its concurrency."""
    return Bot(
        token,
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_file_url or "https://api.telegram.org/file/bot",
        request=AiohttpRequest(
            connection_pool_size=pool_size, read_timeout=settings.telegram_read_timeout
        ),
    )
