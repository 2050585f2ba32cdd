// Tokens from the sandbox's Entra-like endpoints, used by the library through
// onTokenRefresh, and WhoAmI via callFunction: who the Web API thinks we are.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DynamicsWebApi } from "dynamics-web-api";
import {
  APP_USER_ID, BUSINESS_UNIT_ID, DEMO_USERS, SANDBOX_URL, UUID_RE,
  appTokenResponse, client, requestError, userTokenResponse,
} from "../lib/sandbox.mjs";

test("client credentials yield a bearer token without a refresh token", async () => {
  const body = await appTokenResponse();
  assert.equal(body.token_type.toLowerCase(), "bearer");
  assert.ok(Number(body.expires_in) > 0, `expires_in: ${body.expires_in}`);
  assert.equal(body.refresh_token, undefined, "client_credentials never returns a refresh token");
});

test("auth code + PKCE + login_hint yields a delegated token with refresh and id tokens", async () => {
  const body = await userTokenResponse(DEMO_USERS.chloe.email);
  assert.equal(body.token_type.toLowerCase(), "bearer");
  assert.ok(body.refresh_token, "offline_access was asked: a refresh token is expected");
  assert.ok(body.id_token, "openid was asked: an id token is expected");
  const claims = JSON.parse(Buffer.from(body.id_token.split(".")[1], "base64url").toString());
  assert.equal(claims.preferred_username, DEMO_USERS.chloe.email);
});

test("WhoAmI with the app token is the application user", async () => {
  const who = await client("app").callFunction("WhoAmI");
  assert.equal(who.UserId, APP_USER_ID);
  assert.equal(who.BusinessUnitId, BUSINESS_UNIT_ID);
  assert.match(who.OrganizationId, UUID_RE);
  assert.match(who.oDataContext, /\$metadata#Microsoft\.Dynamics\.CRM\.WhoAmIResponse$/);
});

test("WhoAmI with a delegated token is that user's systemuserid", async () => {
  for (const user of [DEMO_USERS.chloe, DEMO_USERS.sean]) {
    const who = await client(user.email).callFunction({ name: "WhoAmI" });
    assert.equal(who.UserId, user.id, `WhoAmI as ${user.email}`);
  }
});

test("the delegated user's systemuser record matches the token's user", async () => {
  const api = client(DEMO_USERS.sean.email);
  const who = await api.callFunction("WhoAmI");
  const me = await api.retrieve({
    collection: "systemusers", key: who.UserId,
    select: ["fullname", "internalemailaddress", "azureactivedirectoryobjectid"],
  });
  assert.equal(me.internalemailaddress, DEMO_USERS.sean.email);
  assert.match(me.fullname, /O'Brien/);
  assert.match(me.azureactivedirectoryobjectid, UUID_RE);
});

test("no token: the library surfaces 401", async () => {
  const anon = new DynamicsWebApi({ serverUrl: SANDBOX_URL, dataApi: { version: "9.2" } });
  const err = await requestError(() => anon.callFunction("WhoAmI"));
  assert.equal(err.status, 401, `${err.status} ${err.message}`);
  assert.match(err.headers?.["www-authenticate"] ?? "", /^Bearer /);
});
