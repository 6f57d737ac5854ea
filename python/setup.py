"""pip install ./python (offline: `/usr/bin/python3 -m pip install --no-build-isolation ./python`).

Builds the _cqlpp extension with the repository's CMake (pybind11 from Debian's
pybind11-dev), linking the driver statically, and installs the cqlpp package.
"""
import os
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        out = os.path.abspath(os.path.dirname(self.get_ext_fullpath(ext.name)))
        # CQLPP_BUILD_DIR: reuse a configured build tree (e.g. build/release).
        build = os.environ.get("CQLPP_BUILD_DIR") or os.path.join(ROOT, "build", "python-pip")
        cfg = ["cmake", "-S", ROOT, "-B", build, "-DCQLPP_BUILD_PYTHON=ON", "-DCQLPP_PYTHON=" + sys.executable]
        if not os.environ.get("CQLPP_BUILD_DIR"):
            cfg += ["-DCMAKE_BUILD_TYPE=Release", "-DCQLPP_BUILD_TESTS=OFF", "-DCQLPP_BUILD_BENCH=OFF",
                    "-DCQLPP_BUILD_EXAMPLES=OFF", "-DCQLPP_BUILD_TOOLS=OFF"]
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")) and \
                subprocess.run(["which", "ninja"], capture_output=True).returncode == 0:
            cfg += ["-G", "Ninja"]
        subprocess.check_call(cfg)
        subprocess.check_call(["cmake", "--build", build, "--target", "cqlpp_python", "-j", str(os.cpu_count() or 2)])
        os.makedirs(out, exist_ok=True)
        import shutil
        shutil.copy(os.path.join(build, "python", "cqlpp", os.path.basename(self.get_ext_filename(ext.name))), out)


setup(
    name="cqlpp",
    version="0.1.0",
    description="asyncio driver for Apache Cassandra (CQL v5) on the cqlpp native core",
    packages=["cqlpp"],
    package_data={"cqlpp": ["*.pyi", "py.typed"]},
    ext_modules=[Extension("cqlpp._cqlpp", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.9",
)
