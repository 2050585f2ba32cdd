// Writes: create (id from OData-EntityId), create with return=representation,
// update with If-Match etags (optimistic concurrency, 412), upsert, delete.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { RUN, UUID_RE, client, requestError } from "../lib/sandbox.mjs";

const api = client("app");
// propagateErrors: the library's update/delete otherwise turn a 412 into `false`.
const strict = client("app", { propagateErrors: true });

const STALE = "The version of the existing record doesn't match the RowVersion property provided.";

test("create returns the new id from OData-EntityId", async () => {
  const name = `Create ${RUN}`;
  const id = await api.create({ collection: "accounts", data: { name, telephone1: "+33 1 23 45 67 89" } });
  assert.equal(typeof id, "string");
  assert.match(id, UUID_RE);
  const back = await api.retrieve({ collection: "accounts", key: id, select: ["name", "telephone1", "statecode", "statuscode"] });
  assert.equal(back.accountid, id);
  assert.equal(back.name, name);
  assert.equal(back.telephone1, "+33 1 23 45 67 89");
  assert.equal(back.statecode, 0);
  assert.equal(back.statuscode, 1);
});

test("create with returnRepresentation returns the record with its etag", async () => {
  const name = `Representation ${RUN}`;
  const rec = await api.create({
    collection: "accounts", data: { name, websiteurl: "https://example.org" }, returnRepresentation: true,
  });
  assert.match(rec.accountid, UUID_RE);
  assert.equal(rec.name, name);
  assert.equal(rec.websiteurl, "https://example.org");
  assert.match(rec["@odata.etag"], /^W\/"\d+"$/);
  assert.match(rec.oDataContext, /\$metadata#accounts\/\$entity$/);
});

test("create with returnRepresentation and select returns only the selected columns", async () => {
  const rec = await api.create({
    collection: "leads",
    data: { subject: `Lead ${RUN}`, firstname: "Ana", lastname: "Núñez", companyname: "O'Hara Ltd" },
    returnRepresentation: true,
    select: ["subject", "fullname", "companyname"],
  });
  assert.match(rec.leadid, UUID_RE);
  assert.equal(rec.subject, `Lead ${RUN}`);
  assert.equal(rec.companyname, "O'Hara Ltd");
  assert.equal(rec.firstname, undefined, "$select applies to the representation");
});

test("update with If-Match = current etag succeeds; with the old etag it is a 412", async () => {
  const created = await api.create({ collection: "accounts", data: { name: `Etag ${RUN}` }, returnRepresentation: true });
  const id = created.accountid;
  const etag1 = created["@odata.etag"];

  const ok = await api.update({ collection: "accounts", key: id, data: { telephone1: "111" }, ifmatch: etag1 });
  assert.equal(ok, true, "204 No Content: the library answers true");

  const after = await api.retrieve({ collection: "accounts", key: id, select: ["telephone1"] });
  assert.equal(after.telephone1, "111");
  const etag2 = after["@odata.etag"];
  assert.notEqual(etag2, etag1, "an update changes the row version");

  const err = await requestError(() =>
    strict.update({ collection: "accounts", key: id, data: { telephone1: "222" }, ifmatch: etag1 }));
  assert.equal(err.status, 412, `${err.status} ${err.message}`);
  assert.equal(err.message, STALE);
  assert.equal(err.code, "0x80060882");

  // Without propagateErrors the library reports the lost race as false.
  const legacy = await api.update({ collection: "accounts", key: id, data: { telephone1: "333" }, ifmatch: etag1 });
  assert.equal(legacy, false);

  const still = await api.retrieve({ collection: "accounts", key: id, select: ["telephone1"] });
  assert.equal(still.telephone1, "111", "a rejected update changes nothing");
  assert.equal(still["@odata.etag"], etag2);

  // The current etag still works.
  assert.equal(await api.update({ collection: "accounts", key: id, data: { telephone1: "444" }, ifmatch: etag2 }), true);
});

test("update with returnRepresentation returns the updated record", async () => {
  const id = await api.create({ collection: "accounts", data: { name: `Upd ${RUN}` } });
  const rec = await api.update({
    collection: "accounts", key: id, data: { address1_city: "Nantes" }, returnRepresentation: true, select: ["name", "address1_city"],
  });
  assert.equal(rec.accountid, id);
  assert.equal(rec.name, `Upd ${RUN}`);
  assert.equal(rec.address1_city, "Nantes");
  assert.match(rec["@odata.etag"], /^W\/"\d+"$/);
});

test("retrieve with If-None-Match = current etag is 304 Not Modified", async () => {
  const rec = await api.create({ collection: "accounts", data: { name: `304 ${RUN}` }, returnRepresentation: true });
  const same = await api.retrieve({ collection: "accounts", key: rec.accountid, select: ["name"], ifnonematch: rec["@odata.etag"] });
  assert.equal(same, undefined, "304: no body");
});

test("upsert: PATCH without If-Match creates; If-None-Match * on an existing record is refused", async () => {
  const id = randomUUID();
  const created = await api.upsert({ collection: "accounts", key: id, data: { name: `Upsert ${RUN}` } });
  assert.equal(created, id, "the upsert created the record with the key from the URL");
  const rec = await api.retrieve({ collection: "accounts", key: id, select: ["name"] });
  assert.equal(rec.name, `Upsert ${RUN}`);

  const refused = await api.upsert({ collection: "accounts", key: id, data: { name: "nope" }, ifnonematch: "*" });
  assert.equal(refused, null, "412 on If-None-Match: * → the library answers null");
  const err = await requestError(() =>
    strict.upsert({ collection: "accounts", key: id, data: { name: "nope" }, ifnonematch: "*" }));
  assert.equal(err.status, 412);
  assert.equal((await api.retrieve({ collection: "accounts", key: id, select: ["name"] })).name, `Upsert ${RUN}`);
});

test("update of a missing record (If-Match: *) is a 404, not an upsert", async () => {
  const id = randomUUID();
  const err = await requestError(() => strict.update({ collection: "accounts", key: id, data: { name: "ghost" } }));
  assert.equal(err.status, 404, `${err.status} ${err.message}`);
  assert.equal(err.message, `account With Id = ${id} Does Not Exist`);
});

test("deleteRecord removes the record", async () => {
  const id = await api.create({ collection: "tasks", data: { subject: `Delete me ${RUN}` } });
  assert.equal(await api.deleteRecord({ collection: "tasks", key: id }), true);
  const err = await requestError(() => api.retrieve({ collection: "tasks", key: id, select: ["subject"] }));
  assert.equal(err.status, 404);
  assert.equal(err.message, `task With Id = ${id} Does Not Exist`);
});

test("assign: PATCH ownerid@odata.bind to a systemuser", async () => {
  const owner = "1f8b5a3e-2c4d-4e6f-8a0b-1c2d3e4f5a6b"; // Chloé Dubois
  const id = await api.create({ collection: "accounts", data: { name: `Assign ${RUN}` } });
  await api.update({ collection: "accounts", key: id, data: { "ownerid@odata.bind": `/systemusers(${owner})` } });
  const rec = await api.retrieve({ collection: "accounts", key: id, select: ["_ownerid_value"], includeAnnotations: "*" });
  assert.equal(rec._ownerid_value, owner);
  assert.equal(rec._ownerid_value_LogicalName, "systemuser");
  const user = await api.retrieve({ collection: "systemusers", key: owner, select: ["fullname"] });
  assert.equal(rec._ownerid_value_Formatted, user.fullname, "a lookup's formatted value is the primary name");
});
