#!/usr/bin/env python3
# sd_notify by hand: writes $NOTIFY_SOCKET (or "unset") to $ENVFILE, sends STATUS=, waits
# for the file $FLAG, then sends READY=1 with a new STATUS= and waits forever.
import os
import socket
import time

path = os.environ.get("NOTIFY_SOCKET")
with open(os.environ["ENVFILE"], "w") as f:
    f.write((path or "unset") + "\n")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
# "@name" is an address in the abstract namespace, as sd_notify(3) reads it
address = "\0" + path[1:] if path and path.startswith("@") else path


def notify(text):
    sock.sendto(text.encode(), address)


notify("STATUS=waiting for the flag")
while not os.path.exists(os.environ["FLAG"]):
    time.sleep(0.02)
notify("READY=1\nSTATUS=serving")
while True:
    time.sleep(3600)
