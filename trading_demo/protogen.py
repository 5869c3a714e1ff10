"""Generate the gRPC stubs from protos/*.proto into each service's app.

    python -m trading_demo.protogen          # write metering/proto/, oversight/proto/
    python -m trading_demo.protogen --check  # exit 1 when the committed stubs are stale

`protos/<name>.proto` goes to `<name>/proto/<name>_pb2.py`, `_pb2.pyi` and `_pb2_grpc.py`.
grpc_tools writes `import <name>_pb2`, which only works with the folder on sys.path; the
import is rewritten to the package path.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"


def generate(proto: Path, out_dir: Path) -> dict[str, str]:
    """Compile one proto into out_dir; return {file name: text}."""
    include = Path(protoc.__file__).parent / "_proto"
    code = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTOS}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            str(proto),
        ]
    )
    if code != 0:
        raise SystemExit(f"protoc failed for {proto.name}")
    name = proto.stem
    files = {}
    for path in sorted(out_dir.glob(f"{name}_pb2*")):
        text = path.read_text()
        text = re.sub(
            rf"^import {name}_pb2 as",
            f"from {name}.proto import {name}_pb2 as",
            text,
            flags=re.MULTILINE,
        )
        files[path.name] = text
    return files


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail when stubs are stale")
    args = parser.parse_args()
    stale = []
    for proto in sorted(PROTOS.glob("*.proto")):
        target = ROOT / proto.stem / "proto"
        with tempfile.TemporaryDirectory() as tmp:
            files = generate(proto, Path(tmp))
        for name, text in files.items():
            path = target / name
            if args.check:
                if not path.exists() or path.read_text() != text:
                    stale.append(str(path.relative_to(ROOT)))
                continue
            target.mkdir(parents=True, exist_ok=True)
            (target / "__init__.py").touch()
            path.write_text(text)
    if stale:
        print("stale gRPC stubs (run `make protos`):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
