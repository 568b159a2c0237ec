"""Schemathesis hooks for scripts/schemathesis: requests carry the bearer token of a live user.

The run may revoke its own token (DELETE /users/{id} or a password change through PATCH on the
caller's id, which the stateful phase reaches through GET /users/me). On a 401, schemathesis asks
for a fresh token and replays the request once (`retry_on`): a new user is registered, logs in
and gets a channel with a message, so channel-scoped routes keep something to hit.
"""

import itertools
import json
import os
import urllib.parse
import urllib.request

import schemathesis

BASE = os.environ["ZYNC_ST_BASE_URL"]
_initial = os.environ.get("ZYNC_ST_TOKEN")
_users = itertools.count(1)


def _call(method, path, *, json_body=None, form=None, token=None):
    headers = {}
    data = None
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers["content-type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(BASE + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def fresh_token():
    name = f"fuzzer-{os.getpid()}-{next(_users)}"
    password = "fuzz-password-1"
    _call("POST", "/users/", json_body={"username": name, "email": f"{name}@example.com", "password": password})
    token = _call("POST", "/token", form={"username": name, "password": password})["access_token"]
    channel = _call("POST", "/channels/", json_body={"name": "fuzz", "description": "schemathesis"}, token=token)
    _call("POST", f"/messages/channels/{channel['id']}/messages", json_body={"content": "hello"}, token=token)
    return token


@schemathesis.auth(refresh_interval=3600, retry_on=[401])
class LiveUser:
    def get(self, case, context):
        global _initial
        if _initial:
            token, _initial = _initial, None
            return token
        return fresh_token()

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
