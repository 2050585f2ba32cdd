// Change tracking: a baseline with Prefer: odata.track-changes (the library's
// trackChanges) paged to its @odata.deltaLink, then a delta read of that link
// after an update, a delete and a create.
import { test } from "node:test";
import assert from "node:assert/strict";
import { API_URL, RUN, client, requestError } from "../lib/sandbox.mjs";

const api = client("app");
const select = ["name", "telephone1"];

/** Pages a tracked read to its end; returns the rows, the page count and the deltaLink. */
async function trackAll(firstRequest, link) {
  const rows = [];
  let pages = 0;
  let page = await api.retrieveMultiple(firstRequest, link);
  for (;;) {
    pages++;
    rows.push(...page.value);
    if (!page.oDataNextLink) break;
    assert.equal(page.oDataDeltaLink, undefined, "only the last page carries the deltaLink");
    page = await api.retrieveMultiple(firstRequest, page.oDataNextLink);
  }
  return { rows, pages, deltaLink: page.oDataDeltaLink, context: page.oDataContext };
}

test("baseline with trackChanges, then the deltaLink returns the update, the create and the delete", async () => {
  const keepId = await api.create({ collection: "accounts", data: { name: `Delta keep ${RUN}`, telephone1: "100" } });
  const dropId = await api.create({ collection: "accounts", data: { name: `Delta drop ${RUN}` } });

  const request = { collection: "accounts", select, trackChanges: true, maxPageSize: 10 };
  const base = await trackAll(request);
  assert.ok(base.pages > 1, "the baseline spans several pages");
  assert.ok(base.deltaLink, "the last baseline page carries @odata.deltaLink");
  assert.ok(base.deltaLink.startsWith(API_URL), `deltaLink ${base.deltaLink} must be absolute under ${API_URL}`);
  assert.ok(new URL(base.deltaLink).searchParams.has("$deltatoken"), `deltaLink ${base.deltaLink} has no $deltatoken`);
  const baseIds = base.rows.map((r) => r.accountid);
  assert.equal(new Set(baseIds).size, baseIds.length, "no duplicates in the baseline");
  assert.ok(baseIds.includes(keepId) && baseIds.includes(dropId));

  // retrieveAll follows the same pages and hands back the deltaLink too.
  const viaAll = await api.retrieveAll(request);
  assert.equal(viaAll.value.length, base.rows.length);
  assert.ok(viaAll.oDataDeltaLink, "retrieveAll returns oDataDeltaLink");

  await api.update({ collection: "accounts", key: keepId, data: { telephone1: "200" } });
  assert.equal(await api.deleteRecord({ collection: "accounts", key: dropId }), true);
  const newId = await api.create({ collection: "accounts", data: { name: `Delta new ${RUN}` } });

  const delta = await trackAll({ collection: "accounts", trackChanges: true }, base.deltaLink);
  assert.match(delta.context, /\/\$delta$/, `delta @odata.context ${delta.context}`);
  assert.ok(delta.deltaLink, "a delta response carries a new deltaLink");
  assert.notEqual(delta.deltaLink, base.deltaLink);

  const changed = delta.rows.filter((r) => r.reason !== "deleted");
  const deleted = delta.rows.filter((r) => r.reason === "deleted");
  const kept = changed.find((r) => r.accountid === keepId);
  assert.ok(kept, "the updated account is in the delta");
  assert.equal(kept.telephone1, "200");
  assert.equal(kept.name, `Delta keep ${RUN}`, "a delta row carries the selected columns' current values");
  assert.ok(changed.some((r) => r.accountid === newId), "the created account is in the delta");
  assert.ok(!changed.some((r) => r.accountid === dropId), "the deleted account is not a changed row");

  const gone = deleted.find((r) => r.id === dropId);
  assert.ok(gone, `the deleted account appears as a deleted entity: ${JSON.stringify(deleted)}`);
  assert.match(gone["@odata.context"], /\$metadata#accounts\/\$deletedEntity$/);
  assert.equal(gone.reason, "deleted");
  const lastChanged = Math.max(...changed.map((r) => delta.rows.indexOf(r)));
  const firstDeleted = Math.min(...deleted.map((r) => delta.rows.indexOf(r)));
  assert.ok(lastChanged < firstDeleted, "new and updated rows come first, then the deleted ones");

  // Nothing of ours changed since: the next delta no longer carries these records.
  const next = await trackAll({ collection: "accounts", trackChanges: true }, delta.deltaLink);
  const again = next.rows.map((r) => r.accountid ?? r.id);
  for (const id of [keepId, dropId, newId]) assert.ok(!again.includes(id), `${id} appears in a delta with no change to it`);
});

test("track-changes rejects $filter", async () => {
  const err = await requestError(() =>
    api.retrieveMultiple({ collection: "accounts", select, trackChanges: true, filter: "statecode eq 0" }));
  assert.equal(err.status, 400, `${err.status} ${err.message}`);
});

// run.sh starts the sandbox with --delta-token-ttl and says so in SANDBOX_DELTA_TOKEN_TTL (seconds).
const ttl = Number(process.env.SANDBOX_DELTA_TOKEN_TTL || 0);
test("an expired delta token is a 400 0x80044352 'Version stamp … expired'", {
  skip: ttl > 0 && ttl <= 30 ? false : "SANDBOX_DELTA_TOKEN_TTL (a short --delta-token-ttl, in seconds) is not set",
}, async () => {
  const base = await api.retrieveAll({ collection: "accounts", select, trackChanges: true });
  assert.ok(base.oDataDeltaLink);
  await new Promise((r) => setTimeout(r, (ttl + 2) * 1000));
  const err = await requestError(() => api.retrieveMultiple({ collection: "accounts", trackChanges: true }, base.oDataDeltaLink));
  assert.equal(err.status, 400, `${err.status} ${err.message}`);
  assert.equal(err.code, "0x80044352");
  assert.equal(err.message, "Version stamp associated with the client has expired. Please perform a full sync.");
});
