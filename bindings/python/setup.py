"""Build of the rlcc wheel: metadata is in pyproject.toml; this file only
decides whether the wheel carries librlcc and, if so, puts it there.

RLCC_BUNDLE (environment) chooses:

- unset or ``auto``: inside a librlcc checkout (``../../Makefile`` and
  ``../../include/rlcc.h`` next to this file), run ``make -C <checkout> all``
  and bundle ``<checkout>/lib/librlcc.so.1``; anywhere else, build a pure
  wheel (``py3-none-any``) that loads ``RLCC_LIBRARY`` or the system's
  ``librlcc.so.1`` at import.
- ``none``: a pure wheel, never running make (a distribution package that
  depends on the system's librlcc, e.g. Debian's python3-rlcc).
- a path to a built ``librlcc.so.1``: bundle that file, without running make.

A bundled wheel is tagged ``py3-none-<platform>`` (no extension module, so
any Python 3) and holds, in ``rlcc/_lib/``, ``librlcc.so.1`` and every
shared library it loads that is not part of glibc (OpenBLAS, libomp,
libgfortran, ...). Each of those is renamed with a hash of its content
(``libopenblas.so.0`` -> ``libopenblas-<8 hex>.so.0``) so it can never be
mistaken for, or collide with, another copy in the same process; the
references between them are rewritten to the new names and every one of
them gets the runpath ``$ORIGIN``, so the dynamic loader finds them next to
each other and nowhere else. The rewriting is done by patchelf (Debian's
``patchelf``), installed with apt-get when missing and running as root.
The Debian copyright file of each copied library goes with it, in
``rlcc/_lib/LICENSES/``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parents[1]
SONAME = "librlcc.so.1"
LIB_DIR = "_lib"  # rlcc/_lib/ inside the wheel

# The dynamic loader's own libraries: every Linux system has them, and a copy
# of any of them in the wheel would fight the process's own glibc.
GLIBC = {
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
    "libutil.so.1", "libresolv.so.2", "libanl.so.1", "libmvec.so.1", "libnsl.so.1",
    "libBrokenLocale.so.1", "libthread_db.so.1", "libc_malloc_debug.so.0",
}


def is_glibc(name: str) -> bool:
    base = os.path.basename(name)
    return base in GLIBC or base.startswith(("ld-linux", "linux-vdso", "libnss_"))


def in_checkout() -> bool:
    return (CHECKOUT / "Makefile").is_file() and (CHECKOUT / "include" / "rlcc.h").is_file()


def bundle_mode():
    """None (pure wheel), "make" (build the checkout) or a Path to bundle."""
    choice = os.environ.get("RLCC_BUNDLE", "auto").strip()
    if choice in ("", "auto"):
        return "make" if in_checkout() else None
    if choice.lower() in ("none", "0", "no", "off"):
        return None
    return Path(choice).expanduser().resolve()  # relative: to bindings/python


BUNDLE = bundle_mode()


def run(command, **kwargs):
    print("rlcc:", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, **kwargs)


def need_patchelf() -> str:
    found = shutil.which("patchelf")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "--no-install-recommends", "patchelf"]
        if subprocess.run(install, env=env).returncode != 0:
            run(["apt-get", "update"], env=env)
            run(install, env=env)
        found = shutil.which("patchelf")
        if found:
            return found
    raise SystemExit("rlcc: bundling librlcc into the wheel needs patchelf: "
                     "`sudo apt-get install patchelf` (or RLCC_BUNDLE=none for a wheel "
                     "without the library)")


def ldd(path: Path) -> dict:
    """{soname: resolved path} of everything ``path`` loads, at any depth."""
    out = subprocess.run(["ldd", str(path)], check=True, capture_output=True, text=True).stdout
    found, missing = {}, []
    for line in out.splitlines():
        match = re.match(r"\s*(\S+)\s+=>\s+(.*?)(\s+\(0x[0-9a-f]+\))?\s*$", line)
        if not match:
            continue  # linux-vdso.so.1, the loader's own absolute path
        name, target = match.group(1), match.group(2)
        if target == "not found":
            missing.append(name)
        else:
            found[name] = Path(target)
    if missing:
        raise SystemExit(f"rlcc: {path} needs {', '.join(missing)}, which the dynamic "
                         "loader cannot find")
    return found


def needed(patchelf: str, path: Path) -> list:
    out = subprocess.run([patchelf, "--print-needed", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def hashed_name(soname: str, real: Path) -> str:
    """``libfoo.so.1`` -> ``libfoo-<first 8 hex of sha256(content)>.so.1``."""
    digest = hashlib.sha256(real.read_bytes()).hexdigest()[:8]
    stem, dot, rest = soname.partition(".so")
    return f"{stem}-{digest}{dot}{rest}"


def debian_copyright(*paths):
    """The Debian copyright file of the package that owns one of ``paths``
    (the licences of what is copied into the wheel travel with it)."""
    if not shutil.which("dpkg-query"):
        return None
    for path in paths:
        done = subprocess.run(["dpkg-query", "-S", str(path)], capture_output=True, text=True)
        if done.returncode == 0:
            package = done.stdout.split(":")[0].strip()
            notice = Path("/usr/share/doc") / package / "copyright"
            if notice.is_file():
                return notice
    return None


def bundle(library: Path, target: Path) -> list:
    """Copy ``library`` into ``target`` as librlcc.so.1 with its non-glibc
    dependencies, renamed and patched. Returns [(soname, source, new name)]."""
    patchelf = need_patchelf()
    if not library.exists():
        raise SystemExit(f"rlcc: no library to bundle at {library}")
    target.mkdir(parents=True)
    deps_seen = {name: path for name, path in ldd(library).items() if not is_glibc(name)}
    deps = {name: path.resolve() for name, path in deps_seen.items()}
    renamed = {name: hashed_name(name, real) for name, real in deps.items()}
    copies = [(SONAME, library.resolve(), SONAME)]
    copies += [(name, deps[name], renamed[name]) for name in sorted(deps)]
    for soname, source, name in copies:
        dest = target / name
        shutil.copyfile(source, dest)
        os.chmod(dest, 0o755)
        # One change per patchelf run: patchelf 0.14 (Debian 12) corrupts the
        # string table when --replace-needed and --set-rpath share a run.
        for old in needed(patchelf, dest):
            if old in renamed:
                run([patchelf, "--replace-needed", old, renamed[old], dest])
        if name != SONAME:
            run([patchelf, "--set-soname", name, dest])
        run([patchelf, "--set-rpath", "$ORIGIN", dest])
    for soname, source, name in copies[1:]:
        notice = debian_copyright(deps_seen[soname], source)
        if notice:
            (target / "LICENSES").mkdir(exist_ok=True)
            shutil.copyfile(notice, target / "LICENSES" / f"{name}.copyright")
    # What the loader would now do, from the wheel's folder alone.
    for name, path in ldd(target / SONAME).items():
        if not is_glibc(name) and path.resolve().parent != target.resolve():
            raise SystemExit(f"rlcc: the bundled library still loads {name} from {path}")
    return copies


class BuildPy(build_py):
    """build_py, then (when bundling) rlcc/_lib/ with the library."""

    def run(self):
        super().run()
        target = Path(self.build_lib) / "rlcc" / LIB_DIR
        shutil.rmtree(target, ignore_errors=True)  # never a stale copy from an earlier build
        if BUNDLE is None:
            print("rlcc: a pure wheel without librlcc (not inside a librlcc checkout, or "
                  "RLCC_BUNDLE=none): `import rlcc` will load RLCC_LIBRARY or the system's "
                  f"{SONAME}", flush=True)
            return
        if getattr(self, "editable_mode", False):
            return  # an editable install imports from the checkout, which finds lib/
        if BUNDLE == "make":
            run([os.environ.get("MAKE", "make"), "-C", CHECKOUT, "all"])
            library = CHECKOUT / "lib" / SONAME
        else:
            library = BUNDLE
        for _, source, name in bundle(library, target):
            print(f"rlcc: bundled {source} as rlcc/{LIB_DIR}/{name}", flush=True)


cmdclass = {"build_py": BuildPy}
distclass = Distribution

if BUNDLE is not None:
    try:
        from wheel.bdist_wheel import bdist_wheel
    except ImportError:
        try:  # setuptools >= 70.1 has its own
            from setuptools.command.bdist_wheel import bdist_wheel
        except ImportError:
            raise SystemExit("rlcc: building a wheel needs the wheel package "
                             "(Debian: python3-wheel)") from None

    class BdistWheel(bdist_wheel):
        """A platform wheel (it carries ELF files) for any Python 3: the
        package itself is ctypes, with no extension module."""

        def get_tag(self):
            return "py3", "none", super().get_tag()[2]

    class BinaryDistribution(Distribution):
        """Platform-specific content: installed to platlib, at the wheel's root."""

        def has_ext_modules(self):
            return True

    cmdclass["bdist_wheel"] = BdistWheel
    distclass = BinaryDistribution

setup(cmdclass=cmdclass, distclass=distclass)
