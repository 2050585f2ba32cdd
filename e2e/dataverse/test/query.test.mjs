// Reads: paging through @odata.nextLink with odata.maxpagesize and $count, a
// $filter with an apostrophe literal, retrieve with $select + $expand of a
// lookup, and formatted-value / lookup annotations as the library maps them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { API_URL, RUN, UUID_RE, client, odataString } from "../lib/sandbox.mjs";

const api = client("app");
const PAGE = 10;

test("retrieveMultiple pages through accounts with maxPageSize and nextLink; union = $count", async () => {
  const request = { collection: "accounts", select: ["accountid", "name"], count: true, maxPageSize: PAGE };
  const first = await api.retrieveMultiple(request);
  assert.equal(typeof first.oDataCount, "number", "count: true must give @odata.count");
  const total = first.oDataCount;
  assert.ok(total > PAGE, `need more than one page of accounts to test paging; @odata.count = ${total}`);
  assert.ok(total <= 5000);
  assert.match(first.oDataContext, /\$metadata#accounts\(accountid,name\)$/);

  const ids = [];
  let page = first;
  let pages = 0;
  for (;;) {
    pages++;
    assert.ok(pages <= Math.ceil(total / PAGE) + 1, "too many pages: the nextLink does not advance");
    assert.ok(page.value.length <= PAGE, `page ${pages} has ${page.value.length} rows, more than maxpagesize ${PAGE}`);
    for (const row of page.value) {
      assert.match(row.accountid, UUID_RE);
      assert.equal(typeof row.name, "string");
      assert.ok(row["@odata.etag"], "each row carries @odata.etag");
      ids.push(row.accountid);
    }
    if (!page.oDataNextLink) break;
    assert.equal(page.value.length, PAGE, "every page but the last is full");
    assert.ok(page.oDataNextLink.startsWith(API_URL), `nextLink ${page.oDataNextLink} must be absolute under ${API_URL}`);
    assert.ok(new URL(page.oDataNextLink).searchParams.has("$skiptoken"), `nextLink ${page.oDataNextLink} has no $skiptoken`);
    page = await api.retrieveMultiple(request, page.oDataNextLink);
  }
  assert.equal(pages, Math.ceil(total / PAGE));
  assert.equal(ids.length, total, "the union of the pages has @odata.count rows");
  assert.equal(new Set(ids).size, ids.length, "no id appears twice across pages");

  const all = await api.retrieveAll({ collection: "accounts", select: ["accountid"], maxPageSize: PAGE });
  assert.deepEqual(new Set(all.value.map((r) => r.accountid)), new Set(ids), "retrieveAll sees the same records");
});

test("$count endpoint and the library's count() agree with @odata.count", async () => {
  const first = await api.retrieveMultiple({ collection: "accounts", select: ["accountid"], count: true, maxPageSize: 1 });
  const n = await api.count({ collection: "accounts" });
  assert.equal(n, first.oDataCount);
});

test("a filter with an apostrophe literal: contains(name,'O''Brien')", async () => {
  const name = `O'Brien & Söhne ${RUN}`;
  const id = await api.create({ collection: "accounts", data: { name } });
  assert.match(id, UUID_RE);

  const filter = `contains(name,${odataString("O'Brien")})`;
  assert.equal(filter, "contains(name,'O''Brien')");
  const hits = await api.retrieveAll({ collection: "accounts", select: ["accountid", "name"], filter });
  assert.ok(hits.value.some((r) => r.accountid === id), "the account just created is found");
  for (const r of hits.value) {
    assert.ok(r.name.toLowerCase().includes("o'brien"), `${r.name} does not contain O'Brien`);
  }
  // contains() is case-insensitive: every account whose name contains it, no more, no less.
  const all = await api.retrieveAll({ collection: "accounts", select: ["accountid", "name"] });
  const expected = all.value.filter((r) => (r.name ?? "").toLowerCase().includes("o'brien")).map((r) => r.accountid);
  assert.deepEqual(new Set(hits.value.map((r) => r.accountid)), new Set(expected));

  const lower = await api.retrieveAll({ collection: "accounts", select: ["accountid"], filter: "contains(name,'o''brien')" });
  assert.equal(lower.value.length, hits.value.length, "contains is case-insensitive");

  const exact = await api.retrieveMultiple({ collection: "accounts", select: ["accountid", "name"], filter: `name eq ${odataString(name)}` });
  assert.deepEqual(exact.value.map((r) => [r.accountid, r.name]), [[id, name]], "eq on a literal with ', & and ö");
});

test("retrieve with select, expand of a lookup and formatted values", async () => {
  const accountName = `Expand Target ${RUN}`;
  const accountId = await api.create({ collection: "accounts", data: { name: accountName, address1_city: "Lyon" } });
  const contactId = await api.create({
    collection: "contacts",
    data: {
      firstname: "Zoë", lastname: `D'Arcy ${RUN}`, jobtitle: "Buyer",
      "parentcustomerid_account@odata.bind": `/accounts(${accountId})`,
    },
  });

  const c = await api.retrieve({
    collection: "contacts", key: contactId,
    select: ["fullname", "firstname", "lastname", "statecode", "_parentcustomerid_value"],
    expand: [{ property: "parentcustomerid_account", select: ["name", "address1_city"] }],
    includeAnnotations: "OData.Community.Display.V1.FormattedValue",
  });
  assert.equal(c.contactid, contactId, "the primary key is always returned");
  assert.equal(c.firstname, "Zoë");
  assert.ok(c.fullname.includes("Zoë") && c.fullname.includes(`D'Arcy ${RUN}`), `fullname ${c.fullname}`);
  assert.ok(c["@odata.etag"]?.startsWith('W/"'), `etag ${c["@odata.etag"]}`);
  assert.match(c.oDataContext, /\$metadata#contacts\(.*\)\/\$entity$/);
  assert.equal(c.jobtitle, undefined, "$select leaves unselected columns out");

  assert.equal(c._parentcustomerid_value, accountId);
  assert.equal(c.parentcustomerid_account?.accountid, accountId, "expanded record carries its id");
  assert.equal(c.parentcustomerid_account.name, accountName);
  assert.equal(c.parentcustomerid_account.address1_city, "Lyon");

  assert.equal(c.statecode, 0);
  assert.equal(c["statecode@OData.Community.Display.V1.FormattedValue"], "Active");
  assert.equal(c.statecode_Formatted, "Active", "the library maps the annotation to statecode_Formatted");
  assert.equal(c._parentcustomerid_value_Formatted, accountName, "a lookup's formatted value is the primary name");
});

test("includeAnnotations '*': lookup logical name and navigation property", async () => {
  const accountId = await api.create({ collection: "accounts", data: { name: `Annot ${RUN}` } });
  const contactId = await api.create({
    collection: "contacts",
    data: { lastname: `Annot ${RUN}`, "parentcustomerid_account@odata.bind": `/accounts(${accountId})` },
  });
  const c = await api.retrieve({
    collection: "contacts", key: contactId, select: ["_parentcustomerid_value", "_ownerid_value"], includeAnnotations: "*",
  });
  assert.equal(c._parentcustomerid_value_LogicalName, "account");
  assert.equal(c._parentcustomerid_value_NavigationProperty, "parentcustomerid_account");
  assert.equal(c._parentcustomerid_value_Formatted, `Annot ${RUN}`);
  assert.equal(c._ownerid_value_LogicalName, "systemuser");
});

test("retrieveMultiple with expand, orderBy and top", async () => {
  const res = await api.retrieveMultiple({
    collection: "contacts",
    select: ["fullname", "_parentcustomerid_value"],
    filter: "_parentcustomerid_value ne null",
    expand: [{ property: "parentcustomerid_account", select: ["name"] }],
    orderBy: ["createdon"],
    top: 5,
  });
  assert.ok(res.value.length > 0 && res.value.length <= 5, `${res.value.length} rows`);
  for (const row of res.value) {
    // A customer lookup points at an account or a contact; the account-typed navigation is null for contacts.
    if (row.parentcustomerid_account) assert.equal(row.parentcustomerid_account.accountid, row._parentcustomerid_value);
  }
});
