"""HTTP/1.x (Packetbeat 8.x's `http` protocol).

The data path through this package: `wire` (pure grammar: start lines, header blocks,
chunk lines) → `framing` (incremental, one phase per step: heads, bodies, chunks, resync)
with per-connection `state` → `message` (what the headers mean) → `transactions` (FIFO
pairing, unmatched sides) → `events` (+ `urls`, `body`) → one Packetbeat event.
`parser.HttpParser` is what the stream layer drives; `config.HttpConfig` its options.
"""
