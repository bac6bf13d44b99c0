"""A served village for OAuth client libraries written elsewhere: a real `allmende serve`
process with a restricted dataset and an approved app, and the resident's part of the flow
(sign-in and consent) done over HTTP as a browser would."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allmende.node.auth import mint_token
from allmende.node.keys import load_key
from allmende.node.setup_files import init_directory
from allmende.policies.templates import template_document
from tests.browser.village import Village, free_port

NODE_ID = "https://struckum.example/"
DATASETS = ("raumklima-vereinsheim", "parken-dorfplatz")
CONTENT = b"zeit,feuchte\n2026-12-07T08:15:00Z,58.25\n"
REDIRECT = "https://dorfapp.example/callback"
DOWNLOAD = "/datasets/{}/distributions/feuchte/download"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class ServedVillage:
    village: Village
    policy_id: str

    @property
    def url(self) -> str:
        return self.village.url

    def register(
        self, *, public: bool = True, grant_types: tuple[str, ...] = ("authorization_code",)
    ) -> dict[str, Any]:
        """Registers an app asking for both datasets (RFC 7591) and has the operator approve it."""
        answer: dict[str, Any] = self.village.call(
            "POST",
            "/oauth/register",
            {
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none" if public else "client_secret_basic",
                "grant_types": list(grant_types),
                "allmende_manifest": {
                    "name": "Dorf-App",
                    "description": "Zeigt das Raumklima im Vereinsheim.",
                    "developer": {"id": "https://dorfapp.example/", "name": "Dorfapp GmbH"},
                    "privacy_policy": "https://dorfapp.example/datenschutz",
                    "version": "1.0.0",
                    "datasets": [
                        {"dataset": d, "purpose": "research", "offer": self.policy_id}
                        for d in DATASETS
                    ],
                },
            },
            admin=False,
        )
        self.village.call("POST", f"/admin/apps/{answer['client_id']}/approve", {})
        return answer

    def resident_code(self, name: str = "nachbar-3") -> str:
        key = load_key(self.village.directory / "node-key.pem")
        return mint_token(key, NODE_ID, role="resident", subject=name)

    def consent(self, authorization_url: str, decision: str = "allow") -> str:
        """The resident's part: sign in with the village's code, read the consent page, allow;
        returns where the node sends the browser back to (the app's redirect URI)."""
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
        )
        path = urllib.parse.urlsplit(authorization_url)
        page_path = f"{path.path}?{path.query}"
        signin = urllib.parse.urlencode({"code": self.resident_code(), "next": page_path})
        try:
            browser.open(self.url + "/oauth/signin", data=signin.encode(), timeout=30)
        except urllib.error.HTTPError as error:
            assert error.code == 303, error.read()
        with browser.open(authorization_url, timeout=30) as response:
            page = response.read().decode()
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
        assert "csrf" in fields, page
        fields = {name: _unescape(value) for name, value in fields.items()}
        form = urllib.parse.urlencode({**fields, "decision": decision}).encode()
        try:
            browser.open(self.url + "/oauth/authorize", data=form, timeout=30)
        except urllib.error.HTTPError as error:
            assert error.code == 302, error.read()
            return str(error.headers["Location"])
        raise AssertionError("the consent form did not send the resident back to the app")


def _unescape(value: str) -> str:
    import html

    return html.unescape(value)


def serve(directory: Path) -> Iterator[ServedVillage]:
    """A served node with two restricted datasets."""
    port = free_port()
    init_directory(directory, name="Struckum", node_id=NODE_ID, port=port)
    village = Village(directory, port)
    village.token = mint_token(load_key(directory / "node-key.pem"), NODE_ID)
    village.start()
    try:
        policy = template_document("research-only", assigner=NODE_ID)
        for dataset in DATASETS:
            village.call(
                "POST",
                "/admin/datasets",
                {
                    "id": dataset,
                    "title": {"de": f"Beispieldaten {dataset}", "en": f"Sample data {dataset}"},
                    "description": {"de": "Beispieldaten.", "en": "Sample data."},
                    "themes": ["ENVI"],
                    "license": "other-closed",
                    "frequency": "15MIN",
                    "contact": {"email": "daten@struckum.example"},
                    "policy": policy,
                },
            )
            upload = urllib.request.Request(
                f"{village.url}/admin/datasets/{dataset}/distributions?file_name=feuchte.csv",
                data=CONTENT,
                method="POST",
                headers={"Authorization": f"Bearer {village.token}", "Content-Type": "text/csv"},
            )
            with urllib.request.urlopen(upload, timeout=30) as response:
                assert response.status == 201
        yield ServedVillage(village, str(policy["@id"]))
    finally:
        village.stop()
