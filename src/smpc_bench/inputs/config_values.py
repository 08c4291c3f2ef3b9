"""The configuration's error type and the value checks its sections share (addresses).

Apart from :mod:`smpc_bench.inputs.consortium` so that the section parsers it calls (the
``[outsourced]`` section's, :mod:`smpc_bench.inputs.outsourced_section`) use them without
importing the whole file reader back: the readers stay one layer each, without a cycle.
"""

from __future__ import annotations

import ipaddress

__all__ = ["ConfigError", "is_loopback", "parse_address"]


class ConfigError(ValueError):
    """The configuration file is unusable; the message says where and why."""


def parse_address(text: str, where: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6::addr]:port`` for IPv6) and check it."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"{where}: address {text!r} must look like host:port, "
                          "e.g. bakery-alfa.example:11365")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ConfigError(f"{where}: port {port} must be between 1 and 65535")
    return host.strip("[]"), port


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost``, ``127.x.y.z`` or ``::1``.

    Names are not resolved (no network look-up): any other name counts as another machine.
    """
    text = host.strip().strip("[]").lower()
    if text in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False
