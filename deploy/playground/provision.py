#!/usr/bin/env python3
"""Fills a fresh playground gateway through its REST API, the way a script would: signs in as
the local admin, registers the three SSH hosts (the private one behind the bastion) and a
webhook to the echo service, then tests every server's connection and prints the hops.

Idempotent: what already exists (by name) is left as it is. Only the standard library.
Used by compose.playground.yml (the `provision` service) and scripts/playground.sh.

Settings, all from the environment:
  PLAYGROUND_URL             the gateway, e.g. http://gatehouse:8443 (default http://127.0.0.1:8443)
  PLAYGROUND_ADMIN_PASSWORD  the local admin's password (required)
  PLAYGROUND_SSH_USER        the account on every SSH host (default gh-playground)
  PLAYGROUND_SSH_PASSWORD    its password (required)
  PLAYGROUND_PUBLIC_HOST     the public host's address (default public-host)
  PLAYGROUND_BASTION_HOST    the bastion's address (default bastion)
  PLAYGROUND_PRIVATE_HOST    the private host's address, as the bastion reaches it
                             (default private-host)
  PLAYGROUND_WEBHOOK_URL     where webhooks go (default http://webhook-echo:8080/hook)
  PLAYGROUND_WAIT_SECS       how long to wait for the gateway to be ready (default 120)
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"provision: {name} must be set")
    return value


BASE = env("PLAYGROUND_URL", "http://127.0.0.1:8443").rstrip("/")
TIMEOUT = 30


def call(method, path, body=None, token=None):
    """(status, parsed JSON or text). HTTP errors are answers too, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def must(status, answer, what):
    if status // 100 != 2:
        sys.exit(f"provision: {what} failed: HTTP {status}: {answer}")
    return answer


def wait_ready(deadline_secs):
    deadline = time.monotonic() + deadline_secs
    while True:
        try:
            status, _ = call("GET", "/readyz")
            if status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"provision: {BASE}/readyz did not answer 200 within {deadline_secs} s")
        time.sleep(1)


def ensure_server(token, existing, request):
    if request["name"] in existing:
        return existing[request["name"]]
    server = must(*call("POST", "/api/servers", request, token), f"registering {request['name']}")
    print(f"registered {server['name']} ({server['hostname']}:{server['port']})")
    return server


def main():
    wait_ready(int(env("PLAYGROUND_WAIT_SECS", "120")))
    login = must(
        *call(
            "POST",
            "/api/auth/login",
            {"username": "admin", "password": env("PLAYGROUND_ADMIN_PASSWORD")},
        ),
        "signing in as admin",
    )
    token = login["token"]
    user = env("PLAYGROUND_SSH_USER", "gh-playground")
    password = env("PLAYGROUND_SSH_PASSWORD")

    def server(name, host, group, description):
        return {
            "name": name,
            "hostname": host,
            "port": 22,
            "username": user,
            "auth_method": "password",
            "password": password,
            "group": group,
            "description": description,
        }

    existing = {s["name"]: s for s in must(*call("GET", "/api/servers", token=token), "listing")}
    public = ensure_server(
        token,
        existing,
        server("public-host", env("PLAYGROUND_PUBLIC_HOST", "public-host"), "dev",
               "Reachable directly from the gateway"),
    )
    bastion = ensure_server(
        token,
        existing,
        server("bastion", env("PLAYGROUND_BASTION_HOST", "bastion"), "ops",
               "Jump host: forwards to the private host only"),
    )
    private_request = server(
        "private-host", env("PLAYGROUND_PRIVATE_HOST", "private-host"), "ops",
        "Only reachable through the bastion",
    )
    private_request["jump_via_id"] = bastion["id"]
    private = ensure_server(token, existing, private_request)

    hooks = must(*call("GET", "/api/webhooks", token=token), "listing webhooks")
    if not any(h["name"] == "playground-echo" for h in hooks):
        hook = {
            "name": "playground-echo",
            "url": env("PLAYGROUND_WEBHOOK_URL", "http://webhook-echo:8080/hook"),
            "events": ["*"],
        }
        must(*call("POST", "/api/webhooks", hook, token), "registering the webhook")
        print(f"registered webhook playground-echo -> {hook['url']}")

    failed = False
    for s in (public, bastion, private):
        report = must(*call("POST", f"/api/servers/{s['id']}/test", {}, token), f"testing {s['name']}")
        hops = " -> ".join(
            f"{h['name']} {'ok' if h['ok'] else 'FAILED (' + str(h.get('code')) + ': ' + str(h.get('error')) + ')'}"
            for h in report["hops"]
        )
        print(f"connection test {s['name']}: {'ok' if report['ok'] else 'FAILED'}: {hops}")
        failed |= not report["ok"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
