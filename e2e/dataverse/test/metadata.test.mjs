// Metadata as the library reads it: $metadata (CSDL), EntityDefinitions (the
// change-tracking start-up check of the contract), and useEntityNames, which
// maps logical names to entity sets through EntityDefinitions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { client } from "../lib/sandbox.mjs";

const api = client("app");
const TABLES = ["account", "contact", "lead", "opportunity", "incident", "task", "phonecall", "appointment"];

test("retrieveCsdlMetadata returns the CSDL document", async () => {
  const xml = await api.retrieveCsdlMetadata();
  assert.equal(typeof xml, "string");
  // The root is Edmx in the edmx namespace (Dataverse writes it with an edmx: prefix; any prefix is the same XML).
  const root = xml.match(/<(?:(\w+):)?Edmx\b([^>]*)>/);
  assert.ok(root, "an Edmx root element");
  assert.match(root[2], /Version="4.0"/);
  const nsAttr = root[1] ? `xmlns:${root[1]}` : "xmlns";
  assert.ok(root[2].includes(`${nsAttr}="http://docs.oasis-open.org/odata/ns/edmx"`), `Edmx is in the edmx namespace: ${root[0]}`);
  assert.match(xml, /<EntityType Name="account"/);
  assert.match(xml, /<EntitySet Name="accounts" EntityType="Microsoft\.Dynamics\.CRM\.account"/);
  assert.match(xml, /<Action Name="WinOpportunity"/);
});

test("retrieveEntities: the eight tables have change tracking enabled", async () => {
  const res = await api.retrieveEntities({ select: ["LogicalName"], filter: "ChangeTrackingEnabled eq true" });
  const names = new Set(res.value.map((e) => e.LogicalName));
  for (const t of TABLES) assert.ok(names.has(t), `${t} is not change-tracking enabled`);
});

test("retrieveEntity by LogicalName alternate key", async () => {
  const e = await api.retrieveEntity({ key: "LogicalName='account'", select: ["LogicalName", "EntitySetName", "PrimaryIdAttribute", "PrimaryNameAttribute"] });
  assert.equal(e.LogicalName, "account");
  assert.equal(e.EntitySetName, "accounts");
  assert.equal(e.PrimaryIdAttribute, "accountid");
  assert.equal(e.PrimaryNameAttribute, "name");
});

test("useEntityNames: the library resolves logical names to entity sets via EntityDefinitions", async () => {
  const byName = client("app", { useEntityNames: true });
  const res = await byName.retrieveMultiple({ collection: "opportunity", select: ["name"], top: 1 });
  assert.equal(res.value.length, 1);
  assert.match(res.oDataContext, /\$metadata#opportunities\(name\)$/);
});
