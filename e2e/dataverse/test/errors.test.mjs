// Error paths as the library surfaces them: status, Dataverse code and message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { client, getFaults, missingId, requestError, setFaults } from "../lib/sandbox.mjs";

const api = client("app");

test("retrieve of a missing id is a 404 '… With Id = … Does Not Exist'", async () => {
  const id = missingId();
  const err = await requestError(() => api.retrieve({ collection: "accounts", key: id, select: ["name"] }));
  assert.equal(err.status, 404, `${err.status} ${err.message}`);
  assert.equal(err.message, `account With Id = ${id} Does Not Exist`);
  assert.equal(err.code, "0x80040217");
  assert.match(err.headers["content-type"], /^application\/json/);
});

test("an unknown entity set is a 404 'Resource not found for the segment'", async () => {
  const err = await requestError(() => api.retrieveMultiple({ collection: "nosuchthings" }));
  assert.equal(err.status, 404, `${err.status} ${err.message}`);
  assert.equal(err.message, "Resource not found for the segment 'nosuchthings'.");
});

test("an unknown column in $select is a 400 'Could not find a property named …'", async () => {
  const err = await requestError(() => api.retrieveMultiple({ collection: "accounts", select: ["name", "nosuchcolumn"] }));
  assert.equal(err.status, 400, `${err.status} ${err.message}`);
  assert.equal(err.message, "Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.account'.");
});

// Service protection: one 429 injected through the sandbox's fault-control endpoint
// (PUT /_sandbox/faults, loopback only). dynamics-web-api 2.5.0 does not retry a 429
// itself: its http client rejects every status outside 2xx/304 with the parsed Dataverse
// error and the response headers, so waiting Retry-After is the caller's job.
test("a 429 with Retry-After is surfaced by the library, and the request succeeds after waiting", async () => {
  const query = { collection: "accounts", select: ["name"], top: 1 };
  await api.retrieveMultiple(query); // the token is fetched before the Web API is throttled
  try {
    const injected = await setFaults({ throttle429: 1, retryAfterSeconds: 1 });
    assert.deepEqual(injected, { throttle429: 1, retryAfterSeconds: 1, latencyMs: 0, failNext: 0, failNextStatus: 0 });

    const err = await requestError(() => api.retrieveMultiple(query));
    assert.equal(err.status, 429, `${err.status} ${err.message}`);
    assert.equal(err.code, "0x80072322");
    assert.equal(err.message, "Number of requests exceeded the limit of 6000 over time window of 300 seconds.");
    assert.equal(err.headers["retry-after"], "1");
    assert.equal((await getFaults()).throttle429, 0, "the one injected 429 was used by that request");

    await new Promise((resolve) => setTimeout(resolve, Number(err.headers["retry-after"]) * 1000));
    const page = await api.retrieveMultiple(query);
    assert.equal(page.value.length, 1, "the request succeeds once Retry-After has passed");
  } finally {
    await setFaults({});
  }
});
