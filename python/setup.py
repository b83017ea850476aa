"""Builds Allot's Swift library (the C ABI, product AllotC) and bundles it into the package.

`pip install ./python` runs `swift build -c release --product AllotC` in the checkout that holds
this directory. Environment variables:
  ALLOT_SWIFT_FLAGS       extra flags for swift build, e.g. "-Xswiftc -static-stdlib" for a wheel
                          that runs without a Swift toolchain (see python/README.md)
  ALLOT_SWIFT_SCRATCH     swift build's scratch path (default: <checkout>/.build)
  ALLOT_PREBUILT_LIBRARY  use this libAllotC.so instead of building one
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parent
LIBRARY = "libAllotC.dylib" if sys.platform == "darwin" else "libAllotC.so"


def built_library() -> Path:
    prebuilt = os.environ.get("ALLOT_PREBUILT_LIBRARY")
    if prebuilt:
        return Path(prebuilt)
    if not (CHECKOUT / "Package.swift").exists():
        raise SystemExit(f"allot: no Package.swift in {CHECKOUT}; build from an Allot checkout (pip install ./python)")
    if shutil.which("swift") is None:
        raise SystemExit("allot: the swift toolchain is not on PATH; see the README's set-up")
    scratch = os.environ.get("ALLOT_SWIFT_SCRATCH", str(CHECKOUT / ".build"))
    command = ["swift", "build", "-c", "release", "--product", "AllotC", "--package-path", str(CHECKOUT),
               "--scratch-path", scratch, *shlex.split(os.environ.get("ALLOT_SWIFT_FLAGS", ""))]
    print("allot: " + shlex.join(command), file=sys.stderr)
    subprocess.run(command, check=True)
    bin_path = subprocess.run(command + ["--show-bin-path"], check=True, capture_output=True, text=True).stdout.strip()
    return Path(bin_path) / LIBRARY


class BuildPy(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "allot" / LIBRARY
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built_library(), target)


class BinaryDistribution(Distribution):
    """The package holds a native library: platform-specific, but it has no Python extension, so
    one wheel serves every Python 3 version."""

    def has_ext_modules(self):
        return True


class BdistWheel(bdist_wheel):
    def get_tag(self):
        _, _, platform = super().get_tag()
        return "py3", "none", platform


setup(distclass=BinaryDistribution, cmdclass={"build_py": BuildPy, "bdist_wheel": BdistWheel})
