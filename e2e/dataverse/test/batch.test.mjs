// $batch through the library's startBatch/executeBatch: a change set with a
// Content-ID reference, GETs outside change sets, and an atomic rollback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RUN, UUID_RE, client, odataString } from "../lib/sandbox.mjs";

const api = client("app");

test("a change set creates an account and a contact that references it by Content-ID", async () => {
  const accountName = `Batch account ${RUN}`;
  api.startBatch();
  api.create({ collection: "accounts", data: { name: accountName }, contentId: "1" });
  api.create({
    collection: "contacts",
    data: { firstname: "Batch", lastname: `Contact ${RUN}`, "parentcustomerid_account@odata.bind": "$1" },
  });
  const responses = await api.executeBatch();
  assert.equal(responses.length, 2, JSON.stringify(responses));
  const [accountId, contactId] = responses;
  assert.match(String(accountId), UUID_RE, `first response: ${JSON.stringify(accountId)}`);
  assert.match(String(contactId), UUID_RE, `second response: ${JSON.stringify(contactId)}`);

  const account = await api.retrieve({ collection: "accounts", key: accountId, select: ["name"] });
  assert.equal(account.name, accountName);
  const contact = await api.retrieve({ collection: "contacts", key: contactId, select: ["lastname", "_parentcustomerid_value"] });
  assert.equal(contact.lastname, `Contact ${RUN}`);
  assert.equal(contact._parentcustomerid_value, accountId, "$1 was bound to the account created in the same change set");
});

test("a batch mixing GETs and a change set returns every response in order", async () => {
  const name = `Batch mixed ${RUN}`;
  api.startBatch();
  api.retrieveMultiple({ collection: "accounts", select: ["name"], top: 2 });
  api.create({ collection: "tasks", data: { subject: name } });
  api.create({ collection: "phonecalls", data: { subject: name, phonenumber: "+44 20 7946 0000" } });
  api.callFunction("WhoAmI");
  const responses = await api.executeBatch();
  assert.equal(responses.length, 4, JSON.stringify(responses));
  const [list, taskId, callId, who] = responses;
  assert.ok(Array.isArray(list.value) && list.value.length === 2, `GET in a batch: ${JSON.stringify(list)}`);
  assert.match(String(taskId), UUID_RE);
  assert.match(String(callId), UUID_RE);
  assert.match(String(who.UserId), UUID_RE);
  const task = await api.retrieve({ collection: "tasks", key: taskId, select: ["subject"] });
  assert.equal(task.subject, name);
});

/** The Dataverse error of a failed batch part: the library keeps the part's body under .error. */
const partError = (p) => ({ status: p.status, code: p.code ?? p.error?.code, message: p.message || p.error?.message });

test("a failing request rolls back its whole change set; the batch answers an error status", async () => {
  const name = `Batch rollback ${RUN}`;
  const missing = "00000000-0000-4000-8000-00000000e2e0";
  api.startBatch();
  api.create({ collection: "accounts", data: { name } });
  api.update({ collection: "accounts", key: missing, data: { name: "ghost" } });
  let resolved = null;
  let rejected = null;
  try {
    resolved = await api.executeBatch();
  } catch (err) {
    rejected = err;
  }
  const parts = resolved ?? (Array.isArray(rejected) ? rejected : [rejected]);
  const failure = parts.find((p) => p instanceof Error && p.status);
  assert.ok(failure, `a failed part is reported: ${JSON.stringify(parts)}`);
  assert.deepEqual(partError(failure), {
    status: 404, code: "0x80040217", message: `account With Id = ${missing} Does Not Exist`,
  });

  const found = await api.retrieveMultiple({ collection: "accounts", select: ["name"], filter: `name eq ${odataString(name)}` });
  assert.equal(found.value.length, 0, "the create in the failed change set was rolled back");

  // Without Prefer: odata.continue-on-error, Dataverse answers the batch itself with an
  // error status ("Handling errors" in Microsoft's batch docs: HTTP/1.1 400 BadRequest),
  // so the library rejects executeBatch with the parsed parts.
  assert.ok(Array.isArray(rejected),
    "executeBatch must reject: Dataverse answers a batch whose request failed with an error status (400), not 200 " +
    `(it resolved with ${JSON.stringify(resolved?.map(partError))})`);
});

test("continueOnError: the batch answers 200 and every request is processed", async () => {
  const subject = `Batch continue ${RUN}`;
  const missing = "00000000-0000-4000-8000-00000000e2e1";
  api.startBatch();
  api.retrieve({ collection: "accounts", key: missing, select: ["name"] });
  api.create({ collection: "tasks", data: { subject }, inChangeSet: false });
  const parts = await api.executeBatch({ continueOnError: true });
  assert.equal(parts.length, 2, JSON.stringify(parts));
  assert.ok(parts[0] instanceof Error, `first part failed: ${JSON.stringify(parts[0])}`);
  assert.equal(partError(parts[0]).status, 404);
  assert.match(String(parts[1]), UUID_RE, "the request after the failure was still processed");
});

test("without continueOnError the batch stops at the first failing request", async () => {
  const subject = `Batch stop ${RUN}`;
  const missing = "00000000-0000-4000-8000-00000000e2e2";
  api.startBatch();
  api.retrieve({ collection: "accounts", key: missing, select: ["name"] });
  api.create({ collection: "tasks", data: { subject }, inChangeSet: false });
  let resolved = null;
  let rejected = null;
  try {
    resolved = await api.executeBatch();
  } catch (err) {
    rejected = err;
  }
  const parts = resolved ?? (Array.isArray(rejected) ? rejected : [rejected]);
  assert.ok(parts[0] instanceof Error, `first part failed: ${JSON.stringify(parts)}`);
  assert.equal(partError(parts[0]).status, 404);
  const found = await api.retrieveMultiple({ collection: "tasks", select: ["subject"], filter: `subject eq ${odataString(subject)}` });
  assert.equal(found.value.length, 0, "the request after the failure was not processed");
  assert.equal(parts.length, 1, "only the failing request is answered");
  assert.ok(Array.isArray(rejected), "executeBatch must reject: Dataverse answers such a batch with an error status (400), not 200");
});
