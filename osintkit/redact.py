"""One redaction for every credential form that can reach stdout, stderr, reports,
manifests and logs.

Credentials arrive in archive URLs (`--db`, OSINTKIT_DB), proxy URLs (`--proxy`,
HTTP(S)_PROXY) and claim URLs. Each form is replaced by `***`, the rest kept so a
message still says which server or file it is about:

- URL userinfo, with or without a user: `postgresql://u:S3cret@h/db`,
  `postgresql://:S3cret@h/db`, `socks5h://u:pw@proxy:1080` → `u:***@`, `:***@`;
- secret query parameters: `?password=S3cret`, `&sslpassword=...`, `token=`,
  `api_key=`, `secret=`, ... → `password=***`;
- libpq keyword strings: `host=h password=S3cret dbname=x`, quoted values too
  (`password='a b\\'c'`) → `password=***`.

`redact` works on any text (a URL, an error message holding one, a log line);
`redact_obj` on JSON-like data (dicts, lists, strings) for manifests and logs.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

# Names of parameters whose value is a secret (URL queries and libpq keyword strings).
_SECRET_NAMES = (r"password|passwd|pwd|pass|sslpassword|secret|client_secret|token"
                 r"|access_token|auth_token|api[_-]?key|apikey")

# scheme://[user]:password@  (the password stops at the last @ before the host part)
_USERINFO = re.compile(r"(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*):(?P<pw>[^\s/?#]*)@")
# ?password=...  &password=...  ;password=...
_QUERY = re.compile(rf"(?P<pre>[?&;](?:{_SECRET_NAMES})=)(?P<value>[^&#\s'\"]*)",
                    re.IGNORECASE)
# libpq keyword/value: password=S3cret, password = 'quoted \' value'
_KEYWORD = re.compile(
    rf"(?P<pre>(?:^|(?<=[\s,(\"']))(?:{_SECRET_NAMES})\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'?|[^\s'\",)]+)",
    re.IGNORECASE)
_HINT = re.compile(rf"://|{_SECRET_NAMES}", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every password, token or key in it replaced by ***."""
    if not text or not _HINT.search(text):
        return text
    text = _USERINFO.sub(_mask_userinfo, text)
    text = _QUERY.sub(lambda m: m["pre"] + (MASK if m["value"] else ""), text)
    return _KEYWORD.sub(lambda m: m["pre"] + MASK, text)


def _mask_userinfo(m: re.Match[str]) -> str:
    return f"{m['pre']}:{MASK}@" if m["pw"] else m.group(0)


def redact_obj(value: Any) -> Any:
    """A copy of JSON-like data with every string redacted (keys too)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_obj(k): redact_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_obj(v) for v in value]
    return value
