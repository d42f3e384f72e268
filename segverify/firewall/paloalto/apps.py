"""Default ports of common App-IDs (``service application-default``), as PAN-OS
documents them in Applipedia. An application not listed here has unknown default ports:
a rule naming it matches any port (may match), never none."""

from __future__ import annotations

# app → ((protocol, "ports"), …); ports as in a PAN-OS service object
APP_DEFAULT_PORTS: dict[str, tuple[tuple[int, str], ...]] = {
    "web-browsing": ((6, "80"),),
    "ssl": ((6, "443"),),
    "dns": ((6, "53"), (17, "53")),
    "dns-base": ((6, "53"), (17, "53")),
    "smtp": ((6, "25,587"),),
    "smtp-base": ((6, "25,587"),),
    "pop3": ((6, "110"),),
    "imap": ((6, "143"),),
    "ssh": ((6, "22"),),
    "telnet": ((6, "23"),),
    "ftp": ((6, "21"),),
    "ntp": ((17, "123"),),
    "ntp-base": ((17, "123"),),
    "snmp": ((17, "161,162"),),
    "syslog": ((17, "514"), (6, "514")),
    "ldap": ((6, "389"), (17, "389")),
    "ms-rdp": ((6, "3389"), (17, "3389")),
    "ms-ds-smb": ((6, "139,445"),),
    "ms-ds-smbv3": ((6, "139,445"),),
    "kerberos": ((6, "88"), (17, "88")),
    "radius": ((17, "1812,1813"),),
    "http-proxy": ((6, "8080,3128"),),
    "ping": ((1, ""),),
    "icmp": ((1, ""),),
}
