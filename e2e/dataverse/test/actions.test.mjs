// Unbound actions through callAction with the bodies of the contract
// (shared/reference/dataverse.md, "Actions"): WinOpportunity, CloseIncident.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RUN, client, requestError } from "../lib/sandbox.mjs";

const api = client("app");

async function newAccount(label) {
  return api.create({ collection: "accounts", data: { name: `${label} ${RUN}` } });
}

test("WinOpportunity closes the opportunity as Won", async () => {
  const accountId = await newAccount("Win customer");
  const oppId = await api.create({
    collection: "opportunities",
    data: {
      name: `Win ${RUN}`, estimatedvalue: 12500,
      "customerid_account@odata.bind": `/accounts(${accountId})`,
    },
  });
  const before = await api.retrieve({ collection: "opportunities", key: oppId, select: ["statecode", "statuscode"] });
  assert.deepEqual([before.statecode, before.statuscode], [0, 1], "a new opportunity is Open / In Progress");

  const result = await api.callAction({
    actionName: "WinOpportunity",
    action: {
      Status: 3,
      OpportunityClose: {
        subject: "Won",
        "opportunityid@odata.bind": `/opportunities(${oppId})`,
        actualrevenue: 12000,
        actualend: "2026-11-24",
        description: `Won by the e2e suite ${RUN}`,
      },
    },
  });
  assert.equal(result, undefined, "204 No Content");

  const after = await api.retrieve({
    collection: "opportunities", key: oppId, select: ["statecode", "statuscode"],
    includeAnnotations: "OData.Community.Display.V1.FormattedValue",
  });
  assert.equal(after.statecode, 1);
  assert.equal(after.statuscode, 3);
  assert.equal(after.statecode_Formatted, "Won");

  // Closed records are read-only and can't be won twice.
  const again = await requestError(() => api.callAction({
    actionName: "WinOpportunity",
    action: { Status: 3, OpportunityClose: { subject: "Won again", "opportunityid@odata.bind": `/opportunities(${oppId})` } },
  }));
  assert.equal(again.status, 400, `${again.status} ${again.message}`);
});

test("CloseIncident resolves the case", async () => {
  const accountId = await newAccount("Case customer");
  const incidentId = await api.create({
    collection: "incidents",
    data: { title: `Close ${RUN}`, "customerid_account@odata.bind": `/accounts(${accountId})` },
  });
  const before = await api.retrieve({ collection: "incidents", key: incidentId, select: ["statecode", "ticketnumber"] });
  assert.equal(before.statecode, 0);
  assert.ok(before.ticketnumber, "Dataverse numbers every new case");

  const result = await api.callAction({
    actionName: "CloseIncident",
    action: {
      IncidentResolution: {
        "@odata.type": "Microsoft.Dynamics.CRM.incidentresolution",
        subject: "Problem solved",
        "incidentid@odata.bind": `/incidents(${incidentId})`,
        timespent: 60,
        description: `Closed by the e2e suite ${RUN}`,
      },
      Status: 5,
    },
  });
  assert.equal(result, undefined, "204 No Content");

  const after = await api.retrieve({
    collection: "incidents", key: incidentId, select: ["statecode", "statuscode"],
    includeAnnotations: "OData.Community.Display.V1.FormattedValue",
  });
  assert.equal(after.statecode, 1);
  assert.equal(after.statuscode, 5);
  assert.equal(after.statecode_Formatted, "Resolved");
  assert.equal(after.statuscode_Formatted, "Problem Solved");
});

test("completing an activity: PATCH statecode and statuscode together", async () => {
  const taskId = await api.create({ collection: "tasks", data: { subject: `Complete ${RUN}` } });
  await api.update({ collection: "tasks", key: taskId, data: { statecode: 1, statuscode: 5 } });
  const t = await api.retrieve({ collection: "tasks", key: taskId, select: ["statecode", "statuscode"] });
  assert.deepEqual([t.statecode, t.statuscode], [1, 5]);
});
