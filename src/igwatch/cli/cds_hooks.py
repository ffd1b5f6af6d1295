"""CDS Hooks from the command line: ``hook`` answers a request file; ``cds-keygen`` and
``cds-token`` make signing keys and tokens for trying a trusted EHR.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from igwatch.clock import parse_date, today
from igwatch.errors import InputRefused

if TYPE_CHECKING:
    pass
from igwatch.cli.common import app, chosen_profile, guard, input_path, print_json

HELP_PANEL = "CDS Hooks"


@app.command(rich_help_panel=HELP_PANEL)
def hook(
    request_file: Annotated[str, typer.Argument(metavar="REQUEST.json", help="A CDS Hooks request (JSON).")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="Answer as of this date (default: today)."),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", metavar="NAME|PATH", help="Shipped profile name or site profile file.")
    ] = "default",
) -> None:
    """Answer a CDS Hooks request from a file, exactly as the service would (no token offline)."""

    def body() -> None:
        real_today = today()
        when = parse_date(as_of, "--as-of") if as_of is not None else real_today
        chosen = chosen_profile(profile)
        path = input_path(request_file)
        try:
            request = json.loads(path.read_bytes())
        except ValueError as error:
            raise InputRefused(f"{request_file}: not valid JSON ({error})") from None

        from igwatch.cdshooks.cards import answer

        print_json(answer(request, when, chosen, today=real_today))

    guard(body)


class SigningAlgorithm(StrEnum):
    ES384 = "ES384"
    RS384 = "RS384"


@app.command("cds-keygen", rich_help_panel=HELP_PANEL)
def cds_keygen(
    out: Annotated[
        str, typer.Option("--out", metavar="DIR", help="Directory for private-key.pem and jwks.json.")
    ],
    alg: Annotated[
        SigningAlgorithm, typer.Option("--alg", help="Signing algorithm.")
    ] = SigningAlgorithm.ES384,
    kid: Annotated[
        str | None,
        typer.Option("--kid", metavar="K", help="Key id (default: the key's RFC 7638 thumbprint)."),
    ] = None,
) -> None:
    """Make an EHR signing key: DIR/private-key.pem (0600) and DIR/jwks.json (public key only)."""

    def body() -> None:
        from igwatch.cdshooks.devkeys import write_key_pair

        private_path, jwks_path, key_id = write_key_pair(out, alg=alg.value, kid=kid)
        sys.stderr.write(f"wrote {private_path} (private, keep it secret) and {jwks_path} (kid {key_id})\n")
        sys.stdout.write(
            "# trusted clients file for `igwatch serve --cds-clients clients.toml`\n"
            "[[client]]\n"
            'iss = "https://ehr.example.org"  # the EHR\'s issuer, as in its tokens\n'
            f"jwks = {json.dumps(str(jwks_path.resolve()))}  # or the EHR's https JWK Set URL\n"
            f'algorithms = ["{alg.value}"]\n'
            '# client_id = "https://ehr.example.org"  # optional: the sub its tokens must carry\n'
            "# the FHIR bases it may name as fhirServer (none: missing prefetch is never fetched)\n"
            '# fhir_servers = ["https://ehr.example.org/fhir"]\n'
        )

    guard(body)


@app.command("cds-token", rich_help_panel=HELP_PANEL)
def cds_token(
    key: Annotated[str, typer.Option("--key", metavar="PEM", help="The private key (from cds-keygen).")],
    iss: Annotated[str, typer.Option("--iss", metavar="ISS", help="Issuer: the iss of a trusted client.")],
    aud: Annotated[
        str, typer.Option("--aud", metavar="URL", help="The full URL of the service called (the aud check).")
    ],
    kid: Annotated[
        str | None,
        typer.Option("--kid", metavar="K", help="Key id (default: the key's thumbprint, as keygen)."),
    ] = None,
    ttl: Annotated[
        int, typer.Option("--ttl", metavar="SECONDS", help="Lifetime (the service allows ≤ 300).")
    ] = 300,
    tenant: Annotated[
        str | None, typer.Option("--tenant", metavar="T", help="Optional tenant claim.")
    ] = None,
    sub: Annotated[
        str | None, typer.Option("--sub", metavar="S", help="Client id (default: the issuer).")
    ] = None,
) -> None:
    """Print a signed CDS Hooks client token (JWT, alg from the key type) for one call."""

    def body() -> None:
        from igwatch.cdshooks.devkeys import load_private_key, mint_token

        if ttl <= 0:
            raise InputRefused(f"--ttl {ttl}: must be a positive number of seconds")
        private_key = load_private_key(key)
        sys.stdout.write(
            mint_token(private_key, iss=iss, aud=aud, kid=kid, ttl_s=ttl, tenant=tenant, sub=sub) + "\n"
        )

    guard(body)
