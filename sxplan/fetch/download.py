"""HTTP downloads with resume, retries with backoff, checksums and a cache.

A file is fetched into ``<cache>/<source id>/<name>.part`` and renamed to ``<name>`` only when
it is whole (its size matches ``Content-Length``) and, where the publisher gives one, its
checksum matches. A file already in the cache is never requested again. A dropped connection
resumes with an HTTP ``Range`` request from the bytes already on disk; 5xx answers, 429 and
network errors are retried with exponential backoff; 404 and other 4xx fail at once.

Inputs: URLs. Outputs: files in the cache folder. Only the standard library (urllib).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sxplan.errors import LayerIOError

__all__ = ["DownloadPolicy", "NotFoundError", "UnreachableError", "download", "file_md5"]

_CHUNK = 1 << 16


class NotFoundError(LayerIOError):
    """The server answered 404 (or 410): the file does not exist there."""


class UnreachableError(LayerIOError):
    """The host did not answer (no DNS, refused, timed out) after every attempt."""


@dataclass(frozen=True)
class DownloadPolicy:
    """How hard to try: attempts, backoff and timeout.

    Attributes
    ----------
    attempts : int
        Requests per file before giving up (first try included).
    backoff_s : float
        Wait before the second attempt; doubled after each failure, capped at ``max_wait_s``.
    max_wait_s : float
        Longest wait between attempts.
    timeout_s : float
        Socket timeout of one request.
    progress : bool
        Show a tqdm progress bar per file.
    """

    attempts: int = 6
    backoff_s: float = 2.0
    max_wait_s: float = 60.0
    timeout_s: float = 60.0
    progress: bool = True

    def wait_s(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failed attempts.

        Examples
        --------
        >>> [DownloadPolicy(backoff_s=1, max_wait_s=5).wait_s(n) for n in (1, 2, 3, 4)]
        [1.0, 2.0, 4.0, 5.0]
        """
        return float(min(self.max_wait_s, self.backoff_s * 2 ** (failures - 1)))


def file_md5(path: str | os.PathLike) -> str:
    """Return the hex MD5 digest of a file (Geofabrik publishes MD5 sidecars)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def _fetch_text(url: str, policy: DownloadPolicy) -> str:
    """GET a small text resource (a checksum sidecar), with the same retries."""
    last = None
    for attempt in range(1, policy.attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=policy.timeout_s) as resp:
                return resp.read(1 << 16).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                raise NotFoundError(f"{url}: 404 not found (checksum file)") from None
            if exc.code < 500 and exc.code != 429:
                raise LayerIOError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            last = str(getattr(exc, "reason", exc))
        if attempt < policy.attempts:
            time.sleep(policy.wait_s(attempt))
    raise LayerIOError(f"{url}: gave up after {policy.attempts} attempts ({last})")


def _one_attempt(url: str, part: Path, policy: DownloadPolicy, label: str) -> None:
    """Fetch the rest of ``url`` into ``part`` (resuming); raise on a short or failed read."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=policy.timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # range past the end: the part is stale, start again
            part.unlink()
        raise
    with resp:
        if have and resp.status != 206:  # the server ignored Range: start from zero
            have = 0
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        bar = None
        if policy.progress:
            from tqdm import tqdm

            bar = tqdm(
                total=total, initial=have, unit="B", unit_scale=True, desc=label, leave=False
            )
        try:
            with open(part, "ab" if have else "wb") as f:
                while block := resp.read(_CHUNK):
                    f.write(block)
                    if bar is not None:
                        bar.update(len(block))
        finally:
            if bar is not None:
                bar.close()
    size = part.stat().st_size
    if total is not None and size != total:
        raise http.client.IncompleteRead(b"", total - size)


def download(
    url: str,
    target: Path,
    *,
    policy: DownloadPolicy | None = None,
    md5_url: str | None = None,
    log=None,
) -> Path:
    """Download ``url`` to ``target`` unless it is already there; return ``target``.

    Parameters
    ----------
    url : str
        What to fetch.
    target : pathlib.Path
        Final path in the cache; the partial download is ``target`` + ``.part``.
    policy : DownloadPolicy, optional
        Attempts, backoff, timeout, progress bar.
    md5_url : str, optional
        URL of an MD5 sidecar (``<md5>  <name>``); the file must match it. On a mismatch the
        file is fetched once more from zero; a second mismatch raises.
    log : callable, optional
        Receives one line per retry.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    NotFoundError
        404 or 410.
    sxplan.errors.LayerIOError
        Any other failure after all attempts, or a checksum mismatch; no file is left at
        ``target`` (a partial ``.part`` stays, so a later run resumes).
    """
    policy = policy or DownloadPolicy()
    target = Path(target)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    expected = _fetch_text(md5_url, policy).split()[0].lower() if md5_url else None
    for round_ in (1, 2):
        _fetch_whole(url, part, policy, log)
        if expected is None:
            break
        got = file_md5(part)
        if got == expected:
            break
        part.unlink()
        msg = f"{url}: MD5 {got} does not match {expected} from {md5_url}"
        if round_ == 2:
            raise LayerIOError(msg + "; removed the file. Try again later or use another mirror")
        if log:
            log(msg + "; fetching it again")
    os.replace(part, target)
    return target


def _fetch_whole(url: str, part: Path, policy: DownloadPolicy, log) -> None:
    """Run attempts until ``part`` holds the whole file; resume after each failure."""
    last, network = None, False
    for attempt in range(1, policy.attempts + 1):
        try:
            _one_attempt(url, part, policy, part.name.removesuffix(".part"))
            return
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                raise NotFoundError(f"{url}: {exc.code} not found") from None
            if exc.code < 500 and exc.code not in (416, 429):
                raise LayerIOError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            last, network = f"HTTP {exc.code}", False
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, socket.gaierror):  # no DNS: offline, retrying will not help
                raise UnreachableError(
                    f"{url}: cannot resolve the host ({reason}); offline?"
                ) from None
            last = f"{type(exc).__name__}: {reason}"
            network = not isinstance(exc, http.client.HTTPException)
        if attempt < policy.attempts:
            wait = policy.wait_s(attempt)
            if log:
                have = part.stat().st_size if part.exists() else 0
                log(f"  {url}: {last}; retry {attempt} in {wait:g} s (resuming at {have} bytes)")
            time.sleep(wait)
    error = UnreachableError if network and not part.exists() else LayerIOError
    raise error(f"{url}: gave up after {policy.attempts} attempts ({last})")
