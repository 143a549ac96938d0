"""The store writer parses a chunk's lines some at a time as one JSON array: the same records as line by line."""

from __future__ import annotations

import orjson
import pytest

from shopsim.store import writer


def _records(chunk: bytes) -> list:
    return [d for part in writer._parsed(chunk) for d in part]


LINES = [orjson.dumps({"seq": i, "t": "2026-03-02T08:00:00.000Z", "type": "x", "shopper": None,
                       "text": "a\nb\r\nc, {\"d\": [1, 2]}" * (i % 5), "n": [i, {"k": "v"}]}) for i in range(300)]


@pytest.mark.parametrize("size", [1, 64, 16_384])
@pytest.mark.parametrize("end", [b"\n", b""])
def test_a_chunk_gives_the_records_of_its_lines_in_order(monkeypatch, size, end):
    monkeypatch.setattr(writer, "_RECORDS_BYTES", size)
    chunk = b"\n".join(LINES) + end
    assert _records(chunk) == [orjson.loads(line) for line in LINES]


def test_one_line_crlf_and_nothing():
    assert _records(LINES[0] + b"\n") == [orjson.loads(LINES[0])]
    assert _records(b"\r\n".join(LINES[:3]) + b"\r\n") == [orjson.loads(line) for line in LINES[:3]]
    assert _records(b"") == []


@pytest.mark.parametrize("chunk", [LINES[0] + b"\n\n" + LINES[1] + b"\n", LINES[0] + b"\n{\"seq\"\n"])
def test_a_blank_or_broken_line_is_an_error(chunk):
    with pytest.raises(orjson.JSONDecodeError):
        _records(chunk)
