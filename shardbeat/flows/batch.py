"""Flow accounting for a decoded batch at once: group by flow with numpy, then one Python
step per flow instead of one per packet.

The grouping key is a 64-bit mix of the canonical key columns; every group is then checked
column by column against its first member, so a hash collision is detected and the batch
grouped exactly (by sorting all key columns) instead of merging two flows.
"""

from __future__ import annotations

import numpy as np

from shardbeat.capture.batch import FrameBatch
from shardbeat.decode.batch import Columns
from shardbeat.decode.shard import _mix_np
from shardbeat.flows.table import KEY_DTYPE, FirstPacket, FlowTable
from shardbeat.worker_packets import addresses


def _canonical(c: Columns, rows: np.ndarray, macs: bool) -> tuple[np.ndarray, list]:
    """(is the sender endpoint A, key columns in `KEY_DTYPE` order: proto, version,
    vlan + 1, A's ip hi/lo, port and mac, then B's) for `rows` of the columns, the
    endpoints ordered as FlowTable.key_of orders them."""
    s_hi, s_lo, d_hi, d_lo = c.src_hi[rows], c.src_lo[rows], c.dst_hi[rows], c.dst_lo[rows]
    sp, dp = c.sport[rows], c.dport[rows]
    zero = np.zeros(len(rows), dtype=np.int64)
    sm, dm = (c.src_mac[rows], c.dst_mac[rows]) if macs else (zero, zero)
    ip_eq = (s_hi == d_hi) & (s_lo == d_lo)
    ip_lt = (s_hi < d_hi) | ((s_hi == d_hi) & (s_lo < d_lo))
    a = np.where(~ip_eq, ip_lt, np.where(sp != dp, sp < dp, sm <= dm))
    pick = lambda x, y: (np.where(a, x, y), np.where(a, y, x))  # noqa: E731
    (ah, bh), (al, bl) = pick(s_hi, d_hi), pick(s_lo, d_lo)
    (ap, bp), (am, bm) = pick(sp, dp), pick(sm, dm)
    vlan = np.where(c.has_vlan[rows], c.vlan[rows] + 1, 0)  # 0: untagged
    return a, [c.proto[rows], c.version[rows], vlan, ah, al, ap, am, bh, bl, bp, bm]


def group_rows(cols: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Group rows whose values are equal in every column: (index of each group's first
    row, group number of every row). Groups are numbered in order of first appearance, so
    what is done per group (flows opened, hence reported) follows packet order however
    the frames were batched."""
    h = np.zeros(len(cols[0]), dtype=np.uint64)
    for col in cols:
        h = _mix_np(h ^ col.astype(np.uint64))
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    if not all(np.array_equal(col, col[first][inverse]) for col in cols):
        keys = np.stack([col.astype(np.uint64) for col in cols], axis=1)
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse.reshape(-1)]


def account_batch(table: FlowTable, c: Columns, rows: np.ndarray, batch: FrameBatch) -> None:
    """Count `rows` of the columns (decoded from `batch`) into `table`; no report pass may
    fall among them."""
    if not len(rows):
        return
    a, cols = _canonical(c, rows, table.uses_macs)
    first, inverse = group_rows(_grouping(cols))
    groups = len(first)
    size = c.frame_len[rows]
    a_packets = np.bincount(inverse, weights=a, minlength=groups)
    a_bytes = np.bincount(inverse, weights=size * a, minlength=groups)
    all_packets = np.bincount(inverse, minlength=groups)
    all_bytes = np.bincount(inverse, weights=size, minlength=groups)
    last = np.full(groups, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, inverse, c.ts[rows])
    keys = _keys(cols, first)
    new = table.unknown(keys)
    firsts = dict(zip(new, _first_packets(batch, c, rows[first[new]],
                                          [col[first[new]].tolist() for col in cols[:3]])))
    a_packets = a_packets.astype(np.int64).tolist()
    a_bytes = a_bytes.astype(np.int64).tolist()
    all_bytes = all_bytes.astype(np.int64).tolist()
    account, get = table.account, firsts.get
    for g, (key, a_pk, a_by, n_pk, n_by, last_ns, a_first) in enumerate(zip(
            keys, a_packets, a_bytes, all_packets.tolist(), all_bytes, last.tolist(),
            a[first].tolist())):
        account(key, a_first, (a_pk, a_by, n_pk - a_pk, n_by - a_by), last_ns, get(g))


def _grouping(cols: list[np.ndarray]) -> list[np.ndarray]:
    """The key columns with the five narrow ones (protocol, version, VLAN, both ports) in
    one: equal rows stay equal, and grouping hashes seven columns instead of eleven."""
    proto, version, vlan, a_hi, a_lo, a_port, a_mac, b_hi, b_lo, b_port, b_mac = cols
    narrow = (proto.astype(np.uint64) | version.astype(np.uint64) << np.uint64(8)
              | vlan.astype(np.uint64) << np.uint64(16) | a_port.astype(np.uint64) << np.uint64(32)
              | b_port.astype(np.uint64) << np.uint64(48))
    return [narrow, a_hi, a_lo, a_mac, b_hi, b_lo, b_mac]


def _keys(cols: list[np.ndarray], first: np.ndarray) -> list[bytes]:
    """The table keys (`KEY_DTYPE` bytes) of the groups whose first rows are `first`."""
    rec = np.empty(len(first), dtype=KEY_DTYPE)
    for name, col in zip(KEY_DTYPE.names, cols):
        rec[name] = col[first]
    raw, size = rec.tobytes(), KEY_DTYPE.itemsize
    return [raw[i:i + size] for i in range(0, len(raw), size)]


def _first_packets(batch: FrameBatch, c: Columns, rows: np.ndarray,
                   head: list[list[int]]) -> list[FirstPacket]:
    """What a new flow keeps of its first packet, for the first rows of new flows (`head`:
    their protocol, IP version and VLAN + 1); the values the scalar decoder's Packet
    carries (tested)."""
    data = batch.data
    out = []
    for frame, l3, ts, sport, dport, proto, version, vlan in zip(
            batch.offsets[c.idx[rows]].tolist(), c.l3[rows].tolist(), c.ts[rows].tolist(),
            c.sport[rows].tolist(), c.dport[rows].tolist(), *head):
        src_ip, dst_ip = addresses(data, l3, version)
        out.append((ts, proto, (vlan - 1,) if vlan else (), data[frame + 6:frame + 12],
                    data[frame:frame + 6], src_ip, dst_ip, sport, dport))
    return out
