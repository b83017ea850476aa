"""ctypes bindings to libAllotC (the C ABI in Sources/AllotC/include/allot.h).

ctypes rather than cffi: it is in the standard library (no dependency, no compile step at install
time beyond the Swift library itself), and a ctypes.CDLL releases the GIL for the whole of every
foreign call, so a solve lets other Python threads run. cffi would release it too, but adds a
dependency for no gain on an ABI of plain integers, doubles and pointers.
"""
import ctypes
import os
import sys
import threading
from ctypes import POINTER, c_char_p, c_double, c_int32, c_int64, c_uint8, c_uint32, c_void_p
from pathlib import Path

ABI_VERSION = 7
LIBRARY = "libAllotC.dylib" if sys.platform == "darwin" else "libAllotC.so"

ERR_INPUT, ERR_SOLVE, ERR_VERIFICATION, ERR_ARGUMENT, ERR_INTERNAL = 1, 2, 3, 4, 5


class AllotError(Exception):
    """An error reported by Allot; `code` is the C ABI's error code."""

    def __init__(self, message, code=ERR_INTERNAL):
        super().__init__(message)
        self.code = code


class InputError(AllotError, ValueError):
    """Bad scores or spec. The message is the CLI's, e.g.
    "scores.parquet: row 4: cost must be >= 0, got -1.0" (rows count from 0, as df.iloc does)."""


class SolveError(AllotError):
    """The method failed, or its allocation failed verification."""


_FUNCTIONS = {
    "allot_abi_version": (c_uint32, []),
    "allot_version": (c_char_p, []),
    "allot_methods": (c_char_p, []),
    "allot_last_error_code": (c_int32, []),
    "allot_last_error_message": (c_char_p, []),
    "allot_builder_new": (c_void_p, [c_char_p, c_int64, c_void_p, c_void_p, c_int64, c_char_p, c_char_p]),
    "allot_builder_column_count": (c_int64, [c_void_p]),
    "allot_builder_column_name": (c_char_p, [c_void_p, c_int64]),
    "allot_builder_set_ids": (c_int32, [c_void_p, c_char_p, c_void_p, c_int64, c_int64, c_void_p, c_void_p, c_int64]),
    "allot_builder_set_strings": (c_int32, [c_void_p, c_char_p, c_int64, c_void_p, c_void_p, c_int64]),
    "allot_builder_set_numbers": (c_int32, [c_void_p, c_char_p, c_void_p, c_int64]),
    "allot_builder_append": (c_int32, [c_void_p, c_int64]),
    "allot_builder_build": (c_void_p, [c_void_p]),
    "allot_builder_free": (None, [c_void_p]),
    "allot_problem_candidates": (c_int64, [c_void_p]),
    "allot_problem_free": (None, [c_void_p]),
    "allot_solve": (c_void_p, [c_void_p, c_char_p, c_char_p]),
    "allot_result_count": (c_int64, [c_void_p]),
    "allot_result_copy_rows": (c_int32, [c_void_p, c_void_p, c_int64]),
    "allot_result_summary_json": (c_char_p, [c_void_p]),
    "allot_result_shadow_prices_json": (c_char_p, [c_void_p]),
    "allot_result_objective": (c_double, [c_void_p]),
    "allot_result_upper_bound": (c_double, [c_void_p]),
    "allot_result_gap": (c_double, [c_void_p]),
    "allot_result_ids_length": (c_int64, [c_void_p, c_char_p]),
    "allot_result_copy_ids": (c_int32, [c_void_p, c_char_p, c_void_p, c_void_p, c_int64]),
    "allot_result_copy_values": (c_int32, [c_void_p, c_char_p, c_void_p, c_int64]),
    "allot_result_free": (None, [c_void_p]),
    "allot_result_write": (c_int32, [c_void_p, c_char_p, c_void_p, c_int64, c_char_p]),
    "allot_result_write_snapshot": (c_int32, [c_void_p, c_char_p, c_char_p]),
    "allot_allocation_new": (c_void_p, [c_void_p, c_char_p, c_int64, c_void_p, c_void_p, c_void_p, c_void_p]),
    "allot_allocation_free": (None, [c_void_p]),
    "allot_log_new": (c_void_p, [c_char_p, c_char_p, c_int64, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
    "allot_log_new_control": (c_void_p, [c_char_p, c_char_p, c_char_p, c_int64, c_void_p, c_void_p, c_void_p, c_void_p,
                                         c_void_p, c_void_p]),
    "allot_log_free": (None, [c_void_p]),
    "allot_evaluate": (c_void_p, [c_void_p, c_void_p, c_void_p, c_char_p, c_void_p]),
    "allot_evaluate_checked": (c_void_p, [c_void_p, c_void_p, c_void_p, c_char_p, c_void_p, c_double]),
    "allot_frontier": (c_void_p, [c_void_p, c_void_p, c_int64, c_char_p, c_char_p]),
    "allot_report_json": (c_char_p, [c_void_p]),
    "allot_report_row_sets": (c_int64, [c_void_p]),
    "allot_report_row_count": (c_int64, [c_void_p, c_int64]),
    "allot_report_copy_rows": (c_int32, [c_void_p, c_int64, c_void_p, c_int64]),
    "allot_report_free": (None, [c_void_p]),
}

_lib = None
_lock = threading.Lock()


def library_path() -> Path:
    """The library loaded: $ALLOT_LIBRARY if set, else the one bundled in the package."""
    return Path(os.environ.get("ALLOT_LIBRARY") or Path(__file__).with_name(LIBRARY))


def lib():
    global _lib
    with _lock:
        if _lib is None:
            path = library_path()
            if not path.exists():
                raise AllotError(f"{path} is missing: install the package with `pip install ./python` from an Allot checkout")
            loaded = ctypes.CDLL(str(path))
            for name, (restype, argtypes) in _FUNCTIONS.items():
                function = getattr(loaded, name)
                function.restype = restype
                function.argtypes = argtypes
            version = loaded.allot_abi_version()
            if version != ABI_VERSION:
                raise AllotError(f"{path} has ABI version {version}; this package needs {ABI_VERSION}")
            _lib = loaded
        return _lib


def raise_last_error():
    """Raises the calling thread's last Allot error as the matching exception."""
    code = lib().allot_last_error_code()
    message = lib().allot_last_error_message().decode("utf-8", "replace")
    if code == ERR_INPUT:
        raise InputError(message, code)
    if code in (ERR_SOLVE, ERR_VERIFICATION):
        raise SolveError(message, code)
    raise AllotError(message or "unknown error", code)


def check(status):
    if status != 0:
        raise_last_error()


def handle(pointer):
    if not pointer:
        raise_last_error()
    return pointer


def encode(text) -> bytes:
    return str(text).encode("utf-8", "surrogatepass")
