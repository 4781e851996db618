"""The pre-fetch gate: which targets are never fetched, and which addresses may be connected to."""
from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import unquote

from .facts import GateRefusal, Refusal
from .urls import scheme_and_host, without_userinfo

__all__ = ["AddressPolicy", "Gate", "embedded_ipv4", "ip_is_public", "literal_ip"]

_FETCHABLE = ("http", "https")
_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@functools.lru_cache(maxsize=1024)  # asked again for every URL and redirect hop of a host
def literal_ip(host: str) -> IPAddress | None:
    """The address a host names directly (`127.0.0.1`, `[::1]`), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")          # RFC 6052: the IPv4 address in the last 32 bits
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: a network's own translator
_COMPATIBLE = ipaddress.IPv6Network("::/96")            # deprecated IPv4-compatible ::a.b.c.d


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 transition form leads to: IPv4-mapped and -compatible, NAT64,
    6to4, and Teredo (its server, and its client, which the address holds XOR-obfuscated)."""
    if ip.ipv4_mapped is not None:
        return (ip.ipv4_mapped,)
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):  # :: and ::1 are no IPv4 address
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo
    return ()


def ip_is_public(ip: IPAddress) -> bool:
    """True only for globally routable unicast addresses.

    Loopback, private, link-local (169.254.169.254 serves cloud credentials), multicast,
    reserved and documentation ranges are refused; an IPv6 address that embeds an IPv4 address
    (`64:ff9b::a9fe:a9fe` reaches 169.254.169.254 through NAT64) is judged by what it embeds."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        embedded = embedded_ipv4(ip)
        if embedded:
            return all(ip_is_public(v4) for v4 in embedded)
    return ip.is_global and not ip.is_multicast


# Which addresses count as public: a seam, so tests can let a loopback server play a public one.
AddressPolicy = Callable[[IPAddress], bool]


@dataclass(frozen=True, slots=True)
class Gate:
    """Finds, without I/O, whether a target is fetched at all: a refusal is a fact, not a verdict."""

    exclude: Sequence[re.Pattern[str]] = ()
    allow_private: bool = False
    is_public: AddressPolicy = ip_is_public

    @classmethod
    def from_settings(cls, exclude: Sequence[str], allow_private: bool,
                      is_public: AddressPolicy = ip_is_public) -> Gate:
        return cls(tuple(re.compile(p) for p in exclude), allow_private, is_public)

    def excluded(self, url: str) -> str | None:
        """The exclude pattern that matches the URL (its user info left out), or None."""
        if not self.exclude:
            return None
        bare = without_userinfo(url)
        return next((p.pattern for p in self.exclude if p.search(bare)), None)

    def precheck(self, url: str) -> GateRefusal | None:
        """Why a target must not be fetched, or None to fetch it (classify says what it is worth)."""
        pattern = self.excluded(url)
        if pattern is not None:
            return GateRefusal(Refusal.EXCLUDED, pattern)
        if url.startswith("#"):
            return GateRefusal(Refusal.SAME_DOCUMENT)
        scheme, host = scheme_and_host(url)
        if scheme == "mailto":
            return self._mailto(url)
        if scheme == "tel":
            return GateRefusal(Refusal.TELEPHONE)
        if scheme not in _FETCHABLE:
            return GateRefusal(Refusal.SCHEME, scheme)
        return self.address_refusal(host or "")

    def address_refusal(self, host: str) -> GateRefusal | None:
        """Refuse a host that is a non-public IP literal (names are judged by the resolver)."""
        ip = literal_ip(host)
        if ip is None or self.allow_private or self.is_public(ip):
            return None
        return GateRefusal(Refusal.PRIVATE_ADDRESS, str(ip))

    @staticmethod
    def _mailto(url: str) -> GateRefusal:
        address = unquote(url[len("mailto:"):].split("?", 1)[0])
        addresses = [parseaddr(a)[1] for a in address.split(",") if a.strip()]
        if addresses and all(_EMAIL.match(a) for a in addresses):
            return GateRefusal(Refusal.MAILTO, ", ".join(addresses))
        return GateRefusal(Refusal.BAD_MAILTO, address)
