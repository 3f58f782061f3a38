"""Record starts walked by one reader and taken by another over a pipe (a sharded replay's
shard 1 and shard 0): the taker reads exactly what it would have read walking itself, takes
every window while the walker keeps up, and walks on alone when the walker stops early or
its results do not fit the taker's windows."""

from __future__ import annotations

import os
import struct
import threading
import time

import pytest

from shardbeat.capture import batch as batch_module
from shardbeat.capture.batch import open_batches
from shardbeat.capture.shared_walk import PublishedWalk, TakenWalk, walk_pipe
from tests.unit.packets import eth, ipv4, pcap_bytes, tcp
from tests.unit.test_capture_batches import general

FRAMES = [eth(ipv4(tcp(b"y" * (i * 53 % 900), sport=2000 + i))) for i in range(60)]


def read_all(path, locate):
    reader, batches = open_batches(str(path), locate=locate)
    frames = []
    with reader:
        for b in batches:
            frames += [(int(b.ts[i]), b.frame(i), int(b.wirelen[i])) for i in range(len(b))]
    return frames, reader.problem


def walk_in_thread(path, walk, delay=0.0):
    def run():
        time.sleep(delay)
        try:
            read_all(path, walk)
        finally:
            walk.close()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def small_windows(monkeypatch):
    monkeypatch.setattr(batch_module, "_READ", 700)  # dozens of windows per file


def capture(tmp_path, frames=FRAMES, cut=0, name="x.pcap"):
    data = pcap_bytes(frames)
    path = tmp_path / name
    path.write_bytes(data[:len(data) - cut])
    return path


@pytest.mark.parametrize("cut", [0, 1, 300])
def test_the_taker_reads_what_it_would_read_alone_and_takes_every_window(
        tmp_path, small_windows, cut):
    path = capture(tmp_path, cut=cut)
    read_fd, write_fd = walk_pipe()
    walker = walk_in_thread(path, PublishedWalk(write_fd))
    taken = TakenWalk(read_fd)
    got = read_all(path, taken)
    walker.join()
    taken.close()
    assert got == general(path)
    assert taken.taken >= 10  # every window: none walked by the taker itself
    assert taken.taken == sum(1 for _ in _windows(path))


def test_a_corrupt_record_is_reported_where_a_lone_reader_reports_it(tmp_path, small_windows):
    data = bytearray(pcap_bytes(FRAMES))
    at = 24 + sum(16 + len(f) for f in FRAMES[:20])
    struct.pack_into("<I", data, at + 8, 0x7FFFFFFF)
    path = tmp_path / "corrupt.pcap"
    path.write_bytes(bytes(data))
    read_fd, write_fd = walk_pipe()
    walker = walk_in_thread(path, PublishedWalk(write_fd))
    taken = TakenWalk(read_fd)
    got = read_all(path, taken)
    walker.join()
    frames, problem = general(path)
    assert got == (frames, problem) and len(frames) == 20
    assert problem.startswith(f"capture corrupt at byte {at}")


class _StopsAfter(PublishedWalk):
    """A walker that dies after publishing `n` windows."""

    def __init__(self, fd, n):
        super().__init__(fd)
        self.left = n

    def __call__(self, data, end, max_record):
        if self.left == 0:
            self.close()
        self.left -= 1
        return super().__call__(data, end, max_record)


def test_a_walker_that_stops_early_leaves_the_taker_walking_alone(tmp_path, small_windows):
    path = capture(tmp_path)
    read_fd, write_fd = walk_pipe()
    walker = walk_in_thread(path, _StopsAfter(write_fd, 3))
    taken = TakenWalk(read_fd)
    got = read_all(path, taken)
    walker.join()
    assert got == general(path)
    assert taken.taken == 3


def test_results_for_another_file_are_not_used_and_the_walker_walks_on(tmp_path,
                                                                        small_windows):
    mine = capture(tmp_path)
    other = capture(tmp_path, frames=FRAMES[::-1][:45], name="other.pcap")
    read_fd, write_fd = walk_pipe()
    published = PublishedWalk(write_fd)
    walker = walk_in_thread(other, published)
    taken = TakenWalk(read_fd)
    got = read_all(mine, taken)
    walker.join()  # it finished: a closed pipe did not stop it
    assert got == general(mine)
    assert taken.taken == 0


def test_the_taker_waits_for_a_walker_that_is_behind_and_takes_every_window(tmp_path,
                                                                            small_windows):
    path = capture(tmp_path)
    read_fd, write_fd = walk_pipe()
    walker = walk_in_thread(path, PublishedWalk(write_fd), delay=0.1)
    taken = TakenWalk(read_fd)
    got = read_all(path, taken)
    walker.join()
    assert got == general(path)
    assert taken.taken == sum(1 for _ in _windows(path))


def test_a_pipe_closed_before_any_window_is_an_ordinary_walk(tmp_path, small_windows):
    path = capture(tmp_path)
    read_fd, write_fd = walk_pipe()
    os.close(write_fd)
    taken = TakenWalk(read_fd)
    assert read_all(path, taken) == general(path)
    assert taken.taken == 0


def _windows(path):
    """The windows a lone reader walks (each call of its `locate`)."""
    calls = []

    def counting(data, end, max_record):
        calls.append(len(data))
        return batch_module.locate_records(data, end, max_record)

    read_all(path, counting)
    return calls
