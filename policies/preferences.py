"""Which channels a notification goes out on, for one user: their preferences over defaults.

Defaults: customers by email; agents and admins by email and in the app; SMS (when a phone
number is known) only for urgent kinds. A user's preferences replace the default per kind:
`{"agent_replied": {"channels": ["in_app"], "digest": false}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledgerdesk.domain.outgoing import CHANNELS, KINDS

STAFF = frozenset({"admin", "agent"})


def default_channels(role: str, kind: str, has_phone: bool) -> list[str]:
    channels = ["email", "in_app"] if role in STAFF else ["email"]
    if has_phone and KINDS.get(kind, False):
        channels.append("sms")
    return channels


def channels_for(
    role: str, kind: str, preferences: Mapping[str, Any], *, has_phone: bool
) -> tuple[list[str], bool]:
    """(channels, digest_only) for one kind of notification to one user."""
    chosen = preferences.get(kind)
    if not isinstance(chosen, Mapping):
        return default_channels(role, kind, has_phone), False
    channels = [c for c in chosen.get("channels", []) if c in CHANNELS]
    if "sms" in channels and not has_phone:
        channels.remove("sms")
    return channels, bool(chosen.get("digest", False))
