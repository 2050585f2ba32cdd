// Parses every Adaptive Card in a directory with the adaptivecards npm
// library (AdaptiveCard.parse + validateProperties) and fails on any parse
// or validation event, and on any property the library drops when it
// serializes the card back (a misspelt or unsupported property, which
// parse alone accepts silently), bar the few Teams extensions it does not
// model (KNOWN_EXTENSIONS).
//
//   node validate.mjs DIR
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(import.meta.url);
// lib/ is extensionless ESM that Node cannot load; the UMD bundle needs no DOM to parse and validate.
const AC = require("adaptivecards/dist/adaptivecards.js");
const version = require("adaptivecards/package.json").version;

// Properties Teams reads that the library does not model: Data.Query type-ahead (teams.md).
// Neither the key nor what it holds is checked.
const KNOWN_EXTENSIONS = new Set(["Input.ChoiceSet.choices.data"]);

// props lists "Type.key" paths of every typed object (elements, actions, inputs) in a card's JSON.
function props(node, out = new Set(), owner = "") {
  if (Array.isArray(node)) {
    for (const n of node) props(n, out, owner);
  } else if (node && typeof node === "object") {
    const type = typeof node.type === "string" ? node.type : owner;
    for (const [k, v] of Object.entries(node)) {
      const p = `${type}.${k}`;
      out.add(p);
      // data is the action's opaque payload: the library keeps it whole.
      if (k !== "data" && !KNOWN_EXTENSIONS.has(p)) props(v, out, type);
    }
  }
  return out;
}

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node validate.mjs DIR");
  process.exit(2);
}
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
if (files.length === 0) {
  console.error(`e2e/cards: no .json card in ${dir}`);
  process.exit(1);
}
console.log(`   adaptivecards ${version}: ${files.length} cards in ${dir}`);

let failed = 0;
for (const f of files) {
  const problems = [];
  let json;
  try {
    json = JSON.parse(readFileSync(join(dir, f), "utf8"));
  } catch (e) {
    problems.push(`not JSON: ${e.message}`);
  }
  if (json) {
    if (json.type !== "AdaptiveCard" || json.version !== "1.5") problems.push(`type ${json.type} version ${json.version}`);
    const card = new AC.AdaptiveCard();
    const ctx = new AC.SerializationContext();
    card.parse(json, ctx);
    for (let i = 0; i < ctx.eventCount; i++) {
      const e = ctx.getEventAt(i);
      problems.push(`parse: ${AC.ValidationEvent[e.event]}: ${e.message}`);
    }
    for (const e of card.validateProperties().validationEvents) {
      problems.push(`validate: ${AC.ValidationEvent[e.event]}: ${e.message}`);
    }
    const kept = props(card.toJSON());
    for (const p of props(json)) {
      if (!kept.has(p) && !KNOWN_EXTENSIONS.has(p)) problems.push(`dropped by the library: ${p}`);
    }
  }
  if (problems.length > 0) {
    failed++;
    console.log(`not ok ${f}`);
    for (const p of problems) console.log(`    ${p}`);
  } else {
    console.log(`ok ${f}`);
  }
}
console.log(`# pass ${files.length - failed}`);
console.log(`# fail ${failed}`);
process.exit(failed > 0 ? 1 : 0);
