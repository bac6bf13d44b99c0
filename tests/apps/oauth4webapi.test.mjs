// oauth4webapi, a client library written elsewhere, against a served node: discovery (RFC 8414),
// registration (RFC 7591), authorization code with PKCE (RFC 7636), introspection (RFC 7662),
// refresh, revocation (RFC 7009), and an RFC 6749 5.2 error body it can read. The resident's
// sign-in and consent are done over HTTP as a browser would.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as oauth from "../browser/oauth.mjs";

const BASE = process.env.ALLMENDE_BASE_URL;
const ADMIN = process.env.ALLMENDE_ADMIN_TOKEN;
const CODE = process.env.ALLMENDE_RESIDENT_CODE;
const OFFER = process.env.ALLMENDE_OFFER;
const [DATASET] = JSON.parse(process.env.ALLMENDE_DATASETS);
const REDIRECT = "https://dorfapp.example/callback";
// the node under test listens on 127.0.0.1 without TLS
const options = { [oauth.allowInsecureRequests]: true };
const issuer = new URL(BASE);

async function consent(authorizationUrl) {
  const signin = await fetch(`${BASE}/oauth/signin`, {
    method: "POST",
    body: new URLSearchParams({ code: CODE, next: authorizationUrl.pathname + authorizationUrl.search }),
    redirect: "manual",
  });
  assert.equal(signin.status, 303);
  const cookie = signin.headers.get("set-cookie").split(";")[0];
  const page = await (await fetch(authorizationUrl, { headers: { cookie } })).text();
  const fields = new URLSearchParams();
  for (const [, name, value] of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields.set(name, value.replaceAll("&amp;", "&").replaceAll("&#34;", '"').replaceAll("&#39;", "'"));
  }
  assert.ok(fields.get("csrf"), page);
  fields.set("decision", "allow");
  const answer = await fetch(`${BASE}/oauth/authorize`, {
    method: "POST", body: fields, headers: { cookie }, redirect: "manual",
  });
  assert.equal(answer.status, 302, await answer.text());
  return new URL(answer.headers.get("location"));
}

test("discovery, registration, PKCE, introspection, refresh and revocation", async () => {
  const discovered = await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...options });
  const as = await oauth.processDiscoveryResponse(issuer, discovered);
  assert.deepEqual(as.code_challenge_methods_supported, ["S256"]);
  // so the library checks the iss of the answer (RFC 9207): one client_id may live at several villages
  assert.equal(as.authorization_response_iss_parameter_supported, true);
  assert.ok(as.grant_types_supported.includes("refresh_token"));
  // a browser app on another origin may read the metadata
  const crossOrigin = await fetch(`${BASE}/.well-known/oauth-authorization-server`, {
    headers: { origin: "https://dorfapp.example" },
  });
  assert.equal(crossOrigin.headers.get("access-control-allow-origin"), "*");

  const client = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(as, {
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      allmende_manifest: {
        name: "Dorf-App (oauth4webapi)",
        description: "Zeigt das Raumklima im Vereinsheim.",
        developer: { id: "https://dorfapp.example/", name: "Dorfapp GmbH" },
        privacy_policy: "https://dorfapp.example/datenschutz",
        version: "1.0.0",
        datasets: [{ dataset: DATASET, purpose: "research", offer: OFFER }],
      },
    }, options),
  );
  assert.equal(client.allmende_status, "sandbox");
  const approved = await fetch(`${BASE}/admin/apps/${client.client_id}/approve`, {
    method: "POST", headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(approved.status, 200, await approved.text());

  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const authorizationUrl = new URL(as.authorization_endpoint);
  authorizationUrl.search = new URLSearchParams({
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    scope: `dataset:${DATASET}`,
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  }).toString();
  const answered = await consent(authorizationUrl);
  const callback = oauth.validateAuthResponse(as, client, answered, state);
  // an answer that another village's server gave (a mix-up) is refused by the library
  const mixedUp = new URL(answered);
  mixedUp.searchParams.set("iss", "https://nachbardorf.example");
  assert.throws(
    () => oauth.validateAuthResponse(as, client, mixedUp, state),
    (error) => error.code === oauth.INVALID_RESPONSE && /"iss"/.test(error.message),
  );
  const exchange = (params, codeVerifier) => oauth.authorizationCodeGrantRequest(
    as, client, oauth.None(), params, REDIRECT, codeVerifier, options,
  );
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, await exchange(callback, verifier));
  assert.equal(tokens.token_type, "bearer");
  assert.ok(tokens.refresh_token);

  const read = await oauth.protectedResourceRequest(
    tokens.access_token, "GET", new URL(`${BASE}/datasets/${DATASET}/distributions/feuchte/download`),
    new Headers(), null, options,
  );
  assert.equal(read.status, 200);
  assert.match(await read.text(), /58\.25/);

  const introspect = async (token) => oauth.processIntrospectionResponse(
    as, client, await oauth.introspectionRequest(as, client, oauth.None(), token, options),
  );
  const info = await introspect(tokens.access_token);
  assert.equal(info.active, true);
  assert.equal(info.client_id, client.client_id);
  assert.equal(info.scope, `dataset:${DATASET}`);

  // the used code again: an RFC 6749 5.2 error body the library reads as such
  await assert.rejects(
    async () => oauth.processAuthorizationCodeResponse(as, client, await exchange(callback, verifier)),
    (error) => error.code === oauth.RESPONSE_BODY_ERROR && error.error === "invalid_grant",
  );

  const refreshed = await oauth.processRefreshTokenResponse(
    as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, options),
  );
  assert.notEqual(refreshed.access_token, tokens.access_token);
  assert.equal((await introspect(tokens.access_token)).active, false);
  assert.equal((await introspect(refreshed.access_token)).active, true);

  await oauth.processRevocationResponse(
    await oauth.revocationRequest(as, client, oauth.None(), refreshed.refresh_token, options),
  );
  assert.equal((await introspect(refreshed.access_token)).active, false);
  const refused = await fetch(`${BASE}/datasets/${DATASET}/distributions/feuchte/download`, {
    headers: { authorization: `Bearer ${refreshed.access_token}` },
  });
  assert.equal(refused.status, 403);
});
