"""``scut serve``: run the web application."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Annotated

import typer

from scut.cli.common import fail, settings
from scut.errors import ScutError

log = logging.getLogger(__name__)


def serve(
    host: Annotated[
        str,
        typer.Option(help="Address to listen on. 0.0.0.0 listens on every interface."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    tls_certificate: Annotated[
        Path | None,
        typer.Option(help="PEM certificate chain, to serve HTTPS directly."),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="PEM private key of --tls-certificate.")
    ] = None,
) -> None:
    """Serve the web pages and the JSON API until stopped with Ctrl-C.

    Session cookies are Secure, so browsers send them only over HTTPS.
    Serve HTTPS with --tls-certificate and --tls-key, or behind a TLS
    proxy. SCUT_WEB_PLAIN_HTTP_LOOPBACK=true drops the flag for clients
    on a loopback address, for the demo and tests.
    """
    import uvicorn

    from scut.web.app import create_app

    if not 1 <= port <= 65535:
        raise typer.BadParameter(f"--port must be 1 to 65535, got {port}")
    if (tls_certificate is None) != (tls_key is None):
        raise typer.BadParameter(
            "give both --tls-certificate and --tls-key, or neither"
        )
    if tls_certificate is None and not _is_loopback(host):
        log.warning(
            "serving plain HTTP on %s: browsers will not send the Secure session "
            "cookie, so sign-in fails. Serve HTTPS with --tls-certificate and "
            "--tls-key or behind a TLS proxy",
            host,
        )
    try:
        app = create_app(settings())
    except ScutError as error:
        raise fail(error) from error
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_certificate) if tls_certificate else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        server_header=False,
        # X-Forwarded-For is not believed: a client could name any source
        # address in it, past the sign-in throttling and into the audit log.
        proxy_headers=False,
        log_level=logging.getLevelName(logging.getLogger().level).lower(),
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
