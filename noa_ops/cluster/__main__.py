"""python -m noa_ops.cluster build|up|status|down [--context NAME] [--only COMPONENT ...] [--purge]
python -m noa_ops.cluster path BINARY   (where a built binary is; exit 1 if it is not built)

One line on error (no traceback), exit 1; `status` exits 1 when the cluster is not healthy."""

from __future__ import annotations

import argparse
import sys
import time

from noa_ops.cluster import ClusterError, build, lifecycle
from noa_ops.cluster.config import ClusterConfig


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m noa_ops.cluster", description=__doc__)
    p.add_argument("action", choices=("build", "up", "status", "down", "path"))
    p.add_argument("binary", nargs="?", help="path: the binary, e.g. kubectl")
    p.add_argument("--context", help="kubeconfig context name (default noa-local, NOA_CLUSTER_CONTEXT)")
    p.add_argument("--only", action="append", help="build: only this component (repeatable)")
    p.add_argument("--purge", action="store_true", help="down: also delete the state directory")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cfg = ClusterConfig.from_env(context=args.context)
    try:
        if args.action == "build":
            started = time.monotonic()
            dirs = build.build_all(cfg, args.only)
            print(f"{len(dirs)} components ready in {time.monotonic() - started:.1f} s "
                  f"(cache {cfg.cache_dir / 'bin'})")
        elif args.action == "up":
            build.build_all(cfg)
            times = lifecycle.up(cfg)
            if times:
                print(f"timings (s since start of up): {lifecycle.summary(times)}")
        elif args.action == "path":
            built = build.built_binary(cfg, args.binary or "")
            if built is None:
                raise ClusterError(f"{args.binary or 'a binary name'} is not built "
                                   f"(`python -m noa_ops.cluster build` builds the components)")
            print(built)
        elif args.action == "status":
            return 0 if lifecycle.status(cfg) else 1
        else:
            lifecycle.down(cfg, purge=args.purge)
    except ClusterError as error:
        print(f"cluster {args.action}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"cluster {args.action}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
