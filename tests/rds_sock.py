# SPDX-License-Identifier: GPL-2.0
"""RDS socket helpers shared by rds-ping.py and rds_bind.py.

Python's socket module takes only IPv4 tuples for AF_RDS sockets, so bind()
and sendto() go through libc with hand-built sockaddr_in/sockaddr_in6, which
covers IPv6 and link-local scopes ("fe80::1%veth0") too.
"""

import ctypes
import errno
import os
import socket
import struct

AF_RDS = getattr(socket, "AF_RDS", 21)
_libc = ctypes.CDLL(None, use_errno=True)


def sockaddr(addr, port=0):
    """Returns the bytes of a sockaddr_in or sockaddr_in6 for "ADDR[%SCOPE]"."""
    host, _, scope = addr.partition("%")
    if ":" not in host:
        return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + \
            socket.inet_pton(socket.AF_INET, host) + bytes(8)
    if scope == "":
        scope_id = 0
    elif scope.isdigit():
        scope_id = int(scope)
    else:
        scope_id = socket.if_nametoindex(scope)
    return struct.pack("=H", socket.AF_INET6) + struct.pack("!H", port) + \
        struct.pack("=I", 0) + socket.inet_pton(socket.AF_INET6, host) + \
        struct.pack("=I", scope_id)


def rds_socket():
    """Returns a new RDS socket."""
    return socket.socket(AF_RDS, socket.SOCK_SEQPACKET, 0)


def _check(ret):
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def bind(sock, addr, port=0):
    """Binds sock to "ADDR[%SCOPE]"; raises OSError with the errno."""
    sa = sockaddr(addr, port)
    _check(_libc.bind(sock.fileno(), ctypes.c_char_p(sa), len(sa)))


def send_empty(sock, addr, port=0):
    """Sends a zero-length message to "ADDR[%SCOPE]":port."""
    sa = sockaddr(addr, port)
    _check(_libc.sendto(sock.fileno(), None, 0, 0, ctypes.c_char_p(sa), len(sa)))


def errname(err):
    """Returns the symbolic name of an errno value."""
    return errno.errorcode.get(err, str(err))
