"""A PEP 517 build backend for the fangs binding that needs nothing but the
standard library, so that `pip install ./bindings/python` works without
network access (pip's isolated build environment stays empty).

It builds a pure-Python wheel of the `fangs` package (and an sdist), with
the metadata of pyproject.toml's [project] table. PEP 660 editable
installs are a .pth file pointing at the source directory.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "fangs"
TAG = "py3-none-any"


def _project():
    """The [project] table (the few keys used), without a TOML parser."""
    text = open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8").read()
    section = text.split("[project]", 1)[1].split("\n[", 1)[0]

    def value(key):
        m = re.search(r'^%s\s*=\s*"([^"]*)"' % key, section, re.M)
        return m.group(1) if m else None
    return {"name": value("name"), "version": value("version"), "description": value("description"),
            "requires-python": value("requires-python")}


def _metadata():
    p = _project()
    lines = ["Metadata-Version: 2.1", "Name: %s" % p["name"], "Version: %s" % p["version"],
             "Summary: %s" % p["description"], "License: MIT", "Classifier: Typing :: Typed",
             "Requires-Python: %s" % p["requires-python"], "Description-Content-Type: text/markdown", ""]
    readme = os.path.join(HERE, "README.md")
    body = open(readme, encoding="utf-8").read() if os.path.exists(readme) else ""
    return "\n".join(lines) + "\n" + body


def _dist_info():
    p = _project()
    return "%s-%s.dist-info" % (p["name"], p["version"])


def _wheel_name():
    p = _project()
    return "%s-%s-%s.whl" % (p["name"], p["version"], TAG)


def _package_files():
    root = os.path.join(HERE, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith((".py", ".typed")):
                full = os.path.join(dirpath, f)
                yield full, os.path.relpath(full, HERE).replace(os.sep, "/")


def _write_wheel(wheel_directory, entries):
    """entries: (archive name, bytes). Adds WHEEL, METADATA and RECORD."""
    di = _dist_info()
    entries = list(entries) + [
        (di + "/METADATA", _metadata().encode()),
        (di + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: fangs_build\nRoot-Is-Purelib: true\nTag: %s\n"
                         % TAG).encode()),
    ]
    record = []
    path = os.path.join(wheel_directory, _wheel_name())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
        record.append(di + "/RECORD,,")
        z.writestr(zipfile.ZipInfo(di + "/RECORD", date_time=(1980, 1, 1, 0, 0, 0)), "\n".join(record) + "\n")
    return os.path.basename(path)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    di = os.path.join(metadata_directory, _dist_info())
    os.makedirs(di, exist_ok=True)
    with open(os.path.join(di, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, ((arc, open(full, "rb").read()) for full, arc in _package_files()))


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [("%s_editable.pth" % PACKAGE, (HERE + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    base = "%s-%s" % (p["name"], p["version"])
    path = os.path.join(sdist_directory, base + ".tar.gz")
    files = [(full, arc) for full, arc in _package_files()]
    for extra in ("pyproject.toml", "README.md", "build_backend/fangs_build.py"):
        files.append((os.path.join(HERE, extra), extra))
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as t:
        pkg_info = _metadata().encode()
        ti = tarfile.TarInfo(base + "/PKG-INFO")
        ti.size = len(pkg_info)
        t.addfile(ti, io.BytesIO(pkg_info))
        for full, arc in files:
            t.add(full, arcname=base + "/" + arc)
    return os.path.basename(path)
