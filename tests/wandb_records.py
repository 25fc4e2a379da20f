"""Read the records of an offline W&B run (`offline-run-*/run-<id>.wandb`).

Hand-written because wandb 0.31 ships no Python reader of its run files any more (the Go
core writes them): the file is a LevelDB-style log (a 7-byte header `:W&B`, magic,
version; then 32 KiB blocks of records, each `crc32, length, type` + payload, long ones
split FIRST/MIDDLE/LAST) of `wandb_internal_pb2.Record` protobufs.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from wandb.proto.wandb_internal_pb2 import Record

_BLOCK = 32768
_HEADER = 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def read_records(path: Path) -> list[Record]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    pos, payloads, pending = _HEADER, [], b""
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        if kind == 0:  # zero padding up to the end of the block
            pos += left
            continue
        payload = data[pos + _HEADER : pos + _HEADER + length]
        pos += _HEADER + length
        if kind == _FULL:
            payloads.append(payload)
        elif kind == _FIRST:
            pending = payload
        elif kind == _MIDDLE:
            pending += payload
        elif kind == _LAST:
            payloads.append(pending + payload)
    return [Record.FromString(p) for p in payloads]


def run_info(run_dir: Path) -> dict[str, Any]:
    """`{"id", "group", "history": [{key: value}, ...]}` of one offline run folder."""
    (path,) = run_dir.glob("run-*.wandb")
    info: dict[str, Any] = {"history": []}
    for record in read_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            info["id"], info["group"] = record.run.run_id, record.run.run_group
        elif kind == "history":
            row = {}
            for item in record.history.item:
                key = item.key or "/".join(item.nested_key)
                row[key] = json.loads(item.value_json)
            info["history"].append(row)
    return info
