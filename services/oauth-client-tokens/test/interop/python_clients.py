"""Gets tokens from the token service with Python's OAuth libraries as Debian packages them, and
checks them offline with PyJWT, for interop-python.test.ts. Run with Debian's /usr/bin/python3.

    python_clients.py <case>    settings in the environment: TOKEN_URL, CLIENT_ID, CLIENT_SECRET,
                                SCOPE; for `pyjwt` ISSUER, JWKS_URI, AUDIENCE, ACCESS_TOKEN; for
                                `authlib-private-key-jwt` KEY_FILE (PEM private key), ALG and
                                ASSERTION_LIFETIME (seconds; unset: authlib's own default)

Prints one JSON object: what the library returned, or {"error": <exception class>, "message": ...}
(exit 3) when it raised.
"""

import json
import os
import sys


def requests_oauthlib_token(include_client_id):
    # OAuth2Session refuses http:// token URLs unless OAUTHLIB_INSECURE_TRANSPORT=1 (the caller's
    # environment decides; the test runs it both ways). CA_FILE: the CA that signed an https:// URL.
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session

    session = OAuth2Session(client=BackendApplicationClient(client_id=os.environ["CLIENT_ID"]))
    token = session.fetch_token(
        token_url=os.environ["TOKEN_URL"],
        client_id=os.environ["CLIENT_ID"],
        client_secret=os.environ["CLIENT_SECRET"],
        scope=os.environ["SCOPE"].split(),
        include_client_id=include_client_id,
        verify=os.environ.get("CA_FILE", True),
        timeout=10,
    )
    return {
        "token_type": token["token_type"],
        "scope": token["scope"],
        "expires_in": token["expires_in"],
        "access_token": token["access_token"],
    }


def authlib_token(auth_method):
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(
        os.environ["CLIENT_ID"],
        os.environ["CLIENT_SECRET"],
        token_endpoint_auth_method=auth_method,
        scope=os.environ["SCOPE"],
    )
    token = session.fetch_token(os.environ["TOKEN_URL"], grant_type="client_credentials", timeout=10)
    return {
        "token_type": token["token_type"],
        "scope": token["scope"],
        "expires_in": token["expires_in"],
        "access_token": token["access_token"],
    }


def authlib_private_key_jwt_token():
    # authlib's own private_key_jwt: it signs the assertion with the private key it is given as the
    # "client secret" (nothing secret is sent). Its default assertion lifetime is an hour; the claims
    # option is how a caller shortens it.
    import time

    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    with open(os.environ["KEY_FILE"], "rb") as key_file:
        private_key = key_file.read()
    lifetime = os.environ.get("ASSERTION_LIFETIME")
    claims = None if lifetime is None else {"exp": int(time.time()) + int(lifetime)}
    session = OAuth2Session(
        os.environ["CLIENT_ID"],
        private_key,
        token_endpoint_auth_method="private_key_jwt",
        scope=os.environ["SCOPE"],
    )
    session.register_client_auth_method(
        PrivateKeyJWT(os.environ["TOKEN_URL"], claims=claims, alg=os.environ["ALG"])
    )
    token = session.fetch_token(os.environ["TOKEN_URL"], grant_type="client_credentials", timeout=10)
    return {
        "token_type": token["token_type"],
        "scope": token["scope"],
        "expires_in": token["expires_in"],
        "access_token": token["access_token"],
    }


def pyjwt_claims():
    import jwt

    token = os.environ["ACCESS_TOKEN"]
    # Fetches the JWKS once and picks the key by the token's kid.
    key = jwt.PyJWKClient(os.environ["JWKS_URI"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["RS256", "PS256", "ES256", "EdDSA"],
        audience=os.environ["AUDIENCE"],
        issuer=os.environ["ISSUER"],
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    return {"header": jwt.get_unverified_header(token), "claims": claims}


CASES = {
    "requests-oauthlib-basic": lambda: requests_oauthlib_token(include_client_id=False),
    "requests-oauthlib-post": lambda: requests_oauthlib_token(include_client_id=True),
    "authlib-basic": lambda: authlib_token("client_secret_basic"),
    "authlib-post": lambda: authlib_token("client_secret_post"),
    "authlib-private-key-jwt": authlib_private_key_jwt_token,
    "pyjwt": pyjwt_claims,
}

if __name__ == "__main__":
    try:
        result = CASES[sys.argv[1]]()
    except Exception as error:  # the test asserts on the class and message
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
        sys.exit(3)
    print(json.dumps(result))
