// Dorf-App: an example app on an Allmende node, in the browser alone.
// Authorization code with PKCE (RFC 7636, S256): the verifier stays in this tab's
// sessionStorage, the node sees only its SHA-256; the token lives in memory and
// sessionStorage of this tab and is given back (RFC 7009) on sign-out.

const $ = (id) => document.getElementById(id);
const redirectUri = location.origin + location.pathname;
const saved = JSON.parse(localStorage.getItem("dorfapp.settings") || "{}");
for (const id of ["node", "client", "dataset", "distribution"]) {
  if (saved[id]) $(id).value = saved[id];
}

function settings() {
  return {
    node: $("node").value.replace(/\/$/, ""),
    client: $("client").value.trim(),
    dataset: $("dataset").value.trim(),
    distribution: $("distribution").value.trim(),
  };
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function show(text) {
  $("status").textContent = text;
}

async function signIn(event) {
  event.preventDefault();
  const s = settings();
  localStorage.setItem("dorfapp.settings", JSON.stringify(s));
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  sessionStorage.setItem("dorfapp.pkce", JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: s.client,
    redirect_uri: redirectUri,
    scope: "dataset:" + s.dataset,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  location.assign(s.node + "/oauth/authorize?" + query);
}

async function finishSignIn() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return;
  history.replaceState(null, "", redirectUri);
  const pending = JSON.parse(sessionStorage.getItem("dorfapp.pkce") || "{}");
  sessionStorage.removeItem("dorfapp.pkce");
  if (params.get("state") !== pending.state) return show("Antwort passt nicht zu dieser Anmeldung.");
  if (params.has("error")) return show("Nicht erlaubt: " + (params.get("error_description") || params.get("error")));
  const s = settings();
  const response = await fetch(s.node + "/oauth/token", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri,
      client_id: s.client,
      code_verifier: pending.verifier,
    }),
  });
  const answer = await response.json();
  if (!response.ok) return show("Kein Token: " + (answer.error_description || answer.error));
  sessionStorage.setItem("dorfapp.token", answer.access_token);
  show("Angemeldet. Die App darf: " + answer.scope);
  ready();
}

function ready() {
  const signedIn = Boolean(sessionStorage.getItem("dorfapp.token"));
  $("load").disabled = !signedIn;
  $("signout").disabled = !signedIn;
}

async function load() {
  const s = settings();
  const token = sessionStorage.getItem("dorfapp.token");
  const url = `${s.node}/datasets/${encodeURIComponent(s.dataset)}/distributions/${encodeURIComponent(s.distribution)}/download`;
  const response = await fetch(url, { headers: { Authorization: "Bearer " + token } });
  if (response.ok) {
    $("data").textContent = await response.text();
    return show("Daten geladen.");
  }
  const problem = await response.json().catch(() => ({}));
  $("data").textContent = "";
  show("Abgelehnt (" + response.status + "): " + (problem.detail || problem.title || ""));
}

async function signOut() {
  const s = settings();
  const token = sessionStorage.getItem("dorfapp.token");
  await fetch(s.node + "/oauth/revoke", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, client_id: s.client }),
  });
  sessionStorage.removeItem("dorfapp.token");
  $("data").textContent = "";
  show("Abgemeldet; der Token gilt nicht mehr.");
  ready();
}

$("settings").addEventListener("submit", signIn);
$("load").addEventListener("click", load);
$("signout").addEventListener("click", signOut);
finishSignIn().then(ready);
