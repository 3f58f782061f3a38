"""ICMPv4 and ICMPv6: request/response pairing and lone messages (Packetbeat's `icmp`).

`config.py` the options, `tracker.py` pairing and timeouts on packet time, `events.py` the
message texts and the event. ICMP needs no stream parser: one packet is one message.
"""
