"""Synthetic capture generator for the benchmark (see bench/README.md).

One module per layer or protocol: `wire` builds Ethernet/IPv4/TCP/UDP frames with correct
checksums, `tcp` turns a connection's application messages into segments (handshake, MSS
segmentation, delayed ACKs, teardown), `http`/`dns`/`redis`/`mysql`/`pgsql` produce real
protocol bytes, `mix` plans the connections and merges them in time order, `pcap` writes.
"""
