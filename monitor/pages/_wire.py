"""The frames parent and child exchange on the child's stdin and stdout."""

from __future__ import annotations

import pickle
import struct
from typing import Any

HEADER = struct.Struct("<I")  # the length of the pickle that follows
# A child's first frame, before any answer: its imports are done.
READY = ("ready", None)


def frame(value: Any) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data
