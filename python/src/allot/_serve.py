"""Live decisions in-process (docs/serve.md): allot.Snapshot and allot.decide, through the C ABI
(allot_live_*), so the decision and pacing are the library's own, the code of `allot serve`."""
import json
from ctypes import c_char_p, c_double, c_void_p
from pathlib import Path

from ._native import encode, lib, raise_last_error

_PROTOTYPES = {
    "allot_live_new": (c_void_p, [c_char_p, c_char_p, c_double]),
    "allot_live_free": (None, [c_void_p]),
    "allot_live_version": (c_char_p, [c_void_p]),
    "allot_live_json": (c_char_p, [c_void_p]),
    "allot_live_decide": (c_char_p, [c_void_p, c_char_p, c_double]),
}


def _lib():
    loaded = lib()
    for name, (restype, argtypes) in _PROTOTYPES.items():
        function = getattr(loaded, name)
        function.restype = restype
        function.argtypes = argtypes
    return loaded


class Snapshot:
    """A snapshot written by `allot solve --snapshot` (a path, or its JSON text), with one day of
    decisions: each `decide` reserves what it gives, as the server does.

    `version` is the sha256 of the content; `content` the document's content as a dict."""

    def __init__(self, source, pacing="proportional", gain=None):
        text = source
        if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
            text = Path(source).read_text(encoding="utf-8")
        self._lib = _lib()
        self._handle = self._lib.allot_live_new(encode(text), encode(pacing), -1.0 if gain is None else float(gain))
        if not self._handle:
            raise_last_error()
        self.version = self._lib.allot_live_version(self._handle).decode()
        self.content = json.loads(self._lib.allot_live_json(self._handle).decode())["content"]

    def decide(self, user_id, candidates, t=0.5):
        """Decides for one user: `candidates` a list of dicts (coupon_id, uplift, cost, channel,
        extra budget columns), `t` the time of day from 0 to 1. Returns the response as a dict."""
        request = json.dumps({"user_id": user_id, "candidates": list(candidates)}, allow_nan=True)
        answer = self._lib.allot_live_decide(self._handle, encode(request), float(t))
        if answer is None:
            raise_last_error()
        return json.loads(answer.decode())

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._lib.allot_live_free(handle)
            self._handle = None


def decide(snapshot, user_candidates, t=0.5):
    """Decides for each `(user_id, candidates)` of `user_candidates` in order, on `snapshot` (a
    Snapshot, or a path: then a fresh day). Returns the list of responses."""
    if not isinstance(snapshot, Snapshot):
        snapshot = Snapshot(snapshot)
    return [snapshot.decide(user, candidates, t) for user, candidates in user_candidates]
