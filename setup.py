"""Packaging hook: the protobuf code is generated from protos/ whenever setuptools runs
(a wheel, an install, an editable install, even the metadata step that checks package
directories), so an installed copy carries ``emergency.v1`` without anyone running
``make``. Everything else is declared in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent


def generate_protobuf_code() -> None:
    """protos/**/*.proto -> emergency/v1/*_pb2.py and *_pb2_grpc.py at the root."""
    import grpc_tools  # a build requirement (pyproject.toml [build-system])
    from grpc_tools import protoc

    protos = sorted(str(p.relative_to(ROOT / "protos")) for p in (ROOT / "protos").rglob("*.proto"))
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    status = protoc.main(
        [
            "protoc",
            f"-I{ROOT / 'protos'}",
            f"-I{well_known}",
            f"--python_out={ROOT}",
            f"--grpc_python_out={ROOT}",
            *protos,
        ]
    )
    if status != 0:
        raise SystemExit(f"protoc failed ({status}) on {protos}")
    for package in (ROOT / "emergency", ROOT / "emergency" / "v1"):
        (package / "__init__.py").touch()


# emergency/ is named, not found: it does not exist yet when the packages are listed
# (before the build that generates it), and an editable install maps only what is listed.
PACKAGES = [
    *find_packages(include=["services", "services.*", "tools", "tools.*", "bench", "bench.*"]),
    "emergency",
    "emergency.v1",
]

generate_protobuf_code()
setup(packages=PACKAGES)
