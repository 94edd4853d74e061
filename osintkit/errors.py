"""Error classes shared by every stage. Each carries a stable code and an exit code.

The core raises these; only `osintkit/cli/` turns them into one-line messages and exit codes.
Per-item failures (one bad file in a directory) are recorded in results as
`{"code", "message"}` via `ErrorInfo`, never raised past the item.
"""

from __future__ import annotations

from dataclasses import dataclass

from osintkit.redact import redact

# Exit codes (documented in the README and docs/cli.md).
EXIT_OK = 0
EXIT_FAIL = 1  # some input failed, or findings at/above --fail-on
EXIT_USAGE = 2  # usage error or unusable input

# Stable per-item error codes. Add freely; never rename.
NOT_FOUND = "not_found"
UNREADABLE = "unreadable"  # permission denied, I/O error, directory where a file was expected
EMPTY = "empty"  # zero-byte file
NOT_MEDIA = "not_media"  # bytes are not an image or video we know (whatever the suffix says)
TRUNCATED = "truncated"
CORRUPT = "corrupt"  # decoder refused the data
CORRUPT_METADATA = "corrupt_metadata"
TOO_LARGE = "too_large"  # decompression bomb, over a size cap
SYMLINK_LOOP = "symlink_loop"
UNSUPPORTED = "unsupported"
NETWORK = "network"
BLOCKED = "blocked"  # refused by a safety rule (SSRF guard, scheme)
TIMEOUT = "timeout"
INTERNAL = "internal"


@dataclass(frozen=True)
class ErrorInfo:
    """A per-item failure as it appears in JSON results."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class OsintkitError(Exception):
    """Base class: a failure with a stable `code`, a one-line message and an exit code."""

    exit_code = EXIT_FAIL
    default_code = INTERNAL

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = redact(" ".join(str(message).split()))  # one line, no password
        self.code = code or self.default_code

    def info(self) -> ErrorInfo:
        return ErrorInfo(self.code, self.message)


class MediaError(OsintkitError):
    """A file that cannot be read as media (empty, truncated, wrong type, bomb...)."""

    default_code = CORRUPT


class InputError(OsintkitError):
    """Unusable input given by the user (missing path, bad claim file, bad manifest)."""

    exit_code = EXIT_USAGE
    default_code = NOT_FOUND


class FetchError(OsintkitError):
    """A URL that could not be fetched safely."""

    default_code = NETWORK


class ArchiveError(OsintkitError):
    """The archive database cannot be opened, read or written."""

    exit_code = EXIT_USAGE
    default_code = "archive"


def one_line(exc: BaseException | str, limit: int = 300) -> str:
    """An exception (or text) as one line of at most `limit` characters."""
    text = " ".join(str(exc).split())
    return text[:limit] or type(exc).__name__


def error_info(exc: BaseException) -> ErrorInfo:
    """ErrorInfo for any exception: ours keep their code, others become `internal`."""
    if isinstance(exc, OsintkitError):
        return exc.info()
    text = redact(" ".join(str(exc).split())) or type(exc).__name__
    return ErrorInfo(INTERNAL, f"{type(exc).__name__}: {text}")
