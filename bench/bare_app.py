"""The bare-framework baseline of bench/load.py --baseline: a Litestar app that serves one captured form
page for every link and answers every POST with a 303 to a receipt, storing nothing.

It runs under the same uvicorn settings as `minping serve` (uvicorn[standard]: uvloop, httptools; no
server header, proxy headers, warning log level), so the ratio of the two rates is Minping's own cost.

    python bench/bare_app.py --port 8001 --workers 2 --page captured-form.html
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from litestar import Litestar, get, post
from litestar.response import Redirect, Response

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # survey_app/receipts.py


def create_app() -> Litestar:
    page = Path(os.environ["MINPING_BARE_PAGE"]).read_bytes()

    @get("/q/{token:str}", sync_to_thread=False)
    def form(token: str) -> Response[bytes]:
        return Response(page, media_type="text/html; charset=utf-8")

    @post("/q/{token:str}", sync_to_thread=False)
    def answer(token: str) -> Redirect:
        receipt = "".join(secrets.choice(ALPHABET) for _ in range(8))
        return Redirect(path=f"/q/{token}/thanks?r={receipt}", status_code=303)

    return Litestar(route_handlers=[form, answer])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--page", type=Path, required=True)
    args = parser.parse_args()
    os.environ["MINPING_BARE_PAGE"] = str(args.page.resolve())
    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")])
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    uvicorn.run(
        "bare_app:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        server_header=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
