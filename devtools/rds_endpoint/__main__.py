"""python -m devtools.rds_endpoint --port N --speed S: serve the endpoint on 127.0.0.1 until SIGTERM/SIGINT."""

import argparse
import json
import os
import signal
import sys
import threading

HOST = "127.0.0.1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.rds_endpoint",
        description="Embedded AWS endpoint (moto + RDS corrections) for mitosis.rds development.",
    )
    parser.add_argument("--port", type=int, default=5454, help="TCP port; 0 picks a free one")
    parser.add_argument(
        "--speed",
        type=float,
        default=0.05,
        help="real seconds per simulated minute; 0 completes every operation at once",
    )
    parser.add_argument("--host", default=HOST, help=f"only {HOST} is accepted")
    parser.add_argument("--verbose", action="store_true", help="print every API call to stderr")
    parser.add_argument("--data-plane", action="store_true",
                        help="every PostgreSQL instance is a real PostgreSQL server on a loopback address")
    args = parser.parse_args(argv)
    if args.host != HOST:
        parser.error(f"refusing to listen on {args.host}: the endpoint only serves {HOST}")
    if args.speed < 0:
        parser.error("--speed must be >= 0")
    try:
        faults = json.loads(os.environ.get("MITOSIS_FAULTS") or "[]")
    except ValueError as exc:
        parser.error(f"MITOSIS_FAULTS is not JSON: {exc}")

    # moto counts automated snapshots against the manual-snapshot quota; AWS does not.
    os.environ.setdefault("MOTO_RDS_SNAPSHOT_LIMIT", "1000000")
    # Imported late: moto is slow to import and argument errors should be quick.
    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import MotoRequestHandler

    from .server import Endpoint

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: object) -> None:
            pass

    try:
        endpoint = Endpoint(
            args.speed,
            faults=faults,
            mfa_code=os.environ.get("MITOSIS_MFA_CODE", "123456"),
            verbose=args.verbose,
            data_plane=args.data_plane,
        )
    except (TypeError, ValueError) as exc:
        parser.error(f"MITOSIS_FAULTS: {exc}")
    server = make_server(HOST, args.port, endpoint, threaded=True, request_handler=QuietHandler)
    url = f"http://{HOST}:{server.server_port}"

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # A short poll interval makes shutdown() quick.
    serving = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
    serving.start()

    for key, value in environment(url).items():
        print(f"export {key}={value}")
    print(f"ready: mitosis RDS endpoint on {url}, {args.speed} s per simulated minute", flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    endpoint.close()
    print("stopped", flush=True)
    return 0


def environment(url: str) -> dict[str, str]:
    """What a client needs to talk to the endpoint, and nothing but it."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        # No instance-metadata lookups: nothing may leave 127.0.0.1.
        "AWS_EC2_METADATA_DISABLED": "true",
    }


if __name__ == "__main__":
    sys.exit(main())
