"""The image's HEALTHCHECK: is the process this container runs answering?

``musewave serve``: GET /health/live on MUSEWAVE_PORT. ``musewave worker``: GET /metrics on
MUSEWAVE_METRICS_PORT (nothing to ask when that is 0). Any other command: healthy while it
runs. The request names a host from MUSEWAVE_ALLOWED_HOSTS, so the API's Host allow-list
lets it through. Standard library only; exit status 0 healthy, 1 not.
"""

import os
import sys
import urllib.request
from pathlib import Path


def main() -> int:
    argv = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    command = next((arg.decode() for arg in argv if arg in (b"serve", b"worker")), None)
    if command == "serve":
        port, path = os.environ.get("MUSEWAVE_PORT", "8000"), "/health/live"
    elif command == "worker":
        port, path = os.environ.get("MUSEWAVE_METRICS_PORT", "9464"), "/metrics"
        if port == "0":
            return 0
    else:
        return 0
    hosts = os.environ.get("MUSEWAVE_ALLOWED_HOSTS", "localhost").split(",")
    host = next((name.strip() for name in hosts if name.strip() not in ("", "*")), "localhost")
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
