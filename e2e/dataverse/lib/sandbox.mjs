// Shared helpers of the dynamics-web-api e2e suite: where the sandbox is, how to
// get tokens from its Entra-like endpoints with plain fetch, and DynamicsWebApi
// clients configured the way a real Node.js integration configures them.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { DynamicsWebApi } from "dynamics-web-api";

/** Base URL of the sandbox (the "org URL"), without a trailing slash. */
export const SANDBOX_URL = (process.env.SANDBOX_URL || "http://127.0.0.1:8089").replace(/\/+$/, "");
/** The tenant segment of the OAuth endpoints: the sandbox's own tenant id (or "common"). */
export const TENANT = process.env.SANDBOX_TENANT || "8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f";
export const CLIENT_ID = process.env.SANDBOX_CLIENT_ID || "crmbot-demo";
export const CLIENT_SECRET = process.env.SANDBOX_CLIENT_SECRET || "crmbot-demo-secret";
export const REDIRECT_URI = process.env.SANDBOX_REDIRECT_URI || "http://localhost:3978/link/callback";
/** The Web API root, as the library composes it from serverUrl + dataApi. */
export const API_URL = `${SANDBOX_URL}/api/data/v9.2/`;

/** Fixed ids of the demo org (crm/sandbox/users.go). */
export const APP_USER_ID = "6e5d4c3b-2a19-4807-b6f5-e4d3c2b1a098";
export const BUSINESS_UNIT_ID = "3a1f6c2e-8d4b-4e9a-b7c5-1d2e3f4a5b6c";
export const DEMO_USERS = {
  chloe: { email: "chloe.dubois@demo.crmbot.dev", id: "1f8b5a3e-2c4d-4e6f-8a0b-1c2d3e4f5a6b" },
  sean: { email: "sean.obrien@demo.crmbot.dev", id: "2a9c6b4f-3d5e-4f70-9b1c-2d3e4f5a6b7c" },
  mathilde: { email: "mathilde.lefevre@demo.crmbot.dev", id: "3b0d7c5a-4e6f-4081-8c2d-3e4f5a6b7c8d" },
};

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A short tag unique to this run, put into the names of the records the suite creates. */
export const RUN = `e2e-${randomUUID().slice(0, 8)}`;

const TOKEN_URL = `${SANDBOX_URL}/${TENANT}/oauth2/v2.0/token`;
const AUTHORIZE_URL = `${SANDBOX_URL}/${TENANT}/oauth2/v2.0/authorize`;
const RESOURCE_SCOPE = `${SANDBOX_URL}/.default`;

async function tokenRequest(form) {
  const res = await fetch(TOKEN_URL, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams(form),
  });
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`token endpoint answered ${res.status}: ${text}`);
  }
  const body = JSON.parse(text);
  if (body.token_type?.toLowerCase() !== "bearer" || !body.access_token) {
    throw new Error(`token endpoint answered no bearer access token: ${text}`);
  }
  return body;
}

/** A token cache: fetch once, refresh a minute before expiry. */
function cached(fetchToken) {
  let token = null;
  let expires = 0;
  let pending = null;
  return async () => {
    if (token && Date.now() < expires) return token;
    pending ??= fetchToken().then((body) => {
      token = body.access_token;
      expires = Date.now() + Math.max(0, (Number(body.expires_in) || 0) - 60) * 1000;
      return token;
    }).finally(() => { pending = null; });
    return pending;
  };
}

/** Client credentials: an app-only token acting as the application user (org-wide read). */
export function appTokenResponse() {
  return tokenRequest({
    grant_type: "client_credentials",
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    scope: RESOURCE_SCOPE,
  });
}
export const appToken = cached(appTokenResponse);

const b64url = (buf) => Buffer.from(buf).toString("base64url");

/**
 * Authorization code + PKCE (S256) with login_hint, the way crmbot links a user,
 * done with plain fetch: the authorize endpoint signs the hinted user in without a
 * page and answers 302 to the redirect URI with ?code&state, which we read from
 * Location instead of following it.
 */
export async function userTokenResponse(email) {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash("sha256").update(verifier).digest());
  const state = b64url(randomBytes(16));
  const scope = `${RESOURCE_SCOPE} openid profile email offline_access`;
  const authorize = new URL(AUTHORIZE_URL);
  authorize.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: "code",
    redirect_uri: REDIRECT_URI,
    response_mode: "query",
    scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
    login_hint: email,
  }).toString();
  const res = await fetch(authorize, { redirect: "manual" });
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) {
    throw new Error(`authorize answered ${res.status} (Location: ${location}): ${await res.text()}`);
  }
  const back = new URL(location);
  if (`${back.origin}${back.pathname}` !== REDIRECT_URI) {
    throw new Error(`authorize redirected to ${location}, not to the registered ${REDIRECT_URI}`);
  }
  if (back.searchParams.get("error")) {
    throw new Error(`authorize answered an error: ${location}`);
  }
  if (back.searchParams.get("state") !== state) {
    throw new Error(`authorize did not echo state: ${location}`);
  }
  const code = back.searchParams.get("code");
  if (!code) throw new Error(`authorize redirect carries no code: ${location}`);
  return tokenRequest({
    grant_type: "authorization_code",
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    scope,
  });
}

const userTokens = new Map();
/** A cached delegated token of a demo user, by email. */
export function userToken(email) {
  if (!userTokens.has(email)) userTokens.set(email, cached(() => userTokenResponse(email)));
  return userTokens.get(email)();
}

/**
 * A DynamicsWebApi client on the sandbox. `as` is "app" (client credentials) or a
 * demo user's email (delegated); extra config is merged in.
 */
export function client(as = "app", extra = {}) {
  const onTokenRefresh = as === "app" ? () => appToken() : () => userToken(as);
  return new DynamicsWebApi({
    serverUrl: SANDBOX_URL,
    dataApi: { version: "9.2" },
    onTokenRefresh,
    ...extra,
  });
}

/** An OData string literal: single quotes doubled ('O''Brien'). The library has no helper for this. */
export function odataString(value) {
  return `'${String(value).replace(/'/g, "''")}'`;
}

/**
 * Runs fn, which must reject with a DynamicsWebApi RequestError, and returns that
 * error (assert.rejects can't hand it back).
 */
export async function requestError(fn) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected the request to fail, but it succeeded");
}

/** A random GUID that names no record. */
export const missingId = () => randomUUID();

/**
 * The sandbox's fault-control endpoint (crm/sandbox FaultsPath): GET answers the
 * pending faults, PUT replaces them. It only answers loopback clients, as the suite is.
 */
export const FAULTS_URL = `${SANDBOX_URL}/_sandbox/faults`;

async function faultsRequest(method, body) {
  const res = await fetch(FAULTS_URL, {
    method,
    headers: { Accept: "application/json", ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${FAULTS_URL} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/**
 * Replaces the injected faults: { throttle429, retryAfterSeconds, latencyMs, failNext,
 * failNextStatus } (missing fields are 0; {} clears everything). Answers the new state.
 */
export const setFaults = (faults) => faultsRequest("PUT", faults);
/** The injected faults still pending (the counters go down as requests use them). */
export const getFaults = () => faultsRequest("GET");
