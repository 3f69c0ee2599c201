"""Gets tokens from the token service with Python's OAuth libraries as Debian packages them, and
checks them offline with PyJWT, for interop-python.test.ts. Run with Debian's /usr/bin/python3.

    python_clients.py <case>    settings in the environment: TOKEN_URL, CLIENT_ID, CLIENT_SECRET,
                                SCOPE, and for `pyjwt` ISSUER, JWKS_URI, AUDIENCE, ACCESS_TOKEN

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
    "pyjwt": pyjwt_claims,
}

if __name__ == "__main__":
    try:
        result = CASES[sys.argv[1]]()
    except Exception as error:  # the test asserts on the class and message
        print(json.dumps({"error": type(error).__name__, "message": str(error)}))
        sys.exit(3)
    print(json.dumps(result))
