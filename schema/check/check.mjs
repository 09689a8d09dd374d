// check.mjs validates playbooks against schema/playbook.schema.json with Ajv
// (draft 2020-12), as an editor with the YAML language server would, and
// says how much of drillctl's own validation the schema alone catches.
//
// It must accept every shipped example (playbooks/examples/*.yaml) and the
// playbooks of valid/ (which drillctl accepts too: a Go test says so), and
// flag at least --min (30) of the invalid test playbooks
// (playbooks/testdata/invalid/*.yaml). Some of those break rules no schema
// can say (a need naming a step, cycles, templates naming what exists,
// counts across lists) or are not YAML at all: they are listed, not failed.
//
// Usage: node check.mjs [--min N] [--verbose]
// Exit status: 0 when every rule holds, 1 otherwise, 2 on a usage error.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import { parseAllDocuments } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const args = process.argv.slice(2);
const min = args.includes("--min") ? Number(args[args.indexOf("--min") + 1]) : 30;
const verbose = args.includes("--verbose");
if (!Number.isInteger(min) || min < 0) {
  console.error("usage: node check.mjs [--min N] [--verbose]");
  process.exit(2);
}

const schema = JSON.parse(readFileSync(join(root, "schema", "playbook.schema.json"), "utf8"));
// strict: a keyword Ajv does not know is a mistake in the schema, except our
// own annotation of each step type's output keys and the messages editors
// (yaml-language-server, VS Code) show instead of their own. Only
// strictRequired is off: one-of rules name, in "required", properties that
// their parent schema defines.
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true, verbose: true });
ajv.addKeyword({ keyword: "x-outputs", schemaType: "array" });
ajv.addKeyword({ keyword: "errorMessage", schemaType: "string" });
ajv.addKeyword({ keyword: "patternErrorMessage", schemaType: "string" });
const validate = ajv.compile(schema);

// relevant drops the errors that say nothing to a reader: those of the
// oneOf branches of other step types (their type const failed) and the
// summaries of oneOf, anyOf and if. Editors show the matching branch too.
function relevant(errors) {
  const otherTypes = errors
    .filter((e) => e.keyword === "const" && e.instancePath.endsWith("/type"))
    .map((e) => e.schemaPath.replace(/properties\/type\/const$/, ""));
  const kept = errors.filter(
    (e) => !["oneOf", "anyOf", "if"].includes(e.keyword) && !otherTypes.some((b) => e.schemaPath.startsWith(b)),
  );
  if (kept.length > 0) return kept;
  const typeError = errors.find((e) => e.keyword === "const" && e.instancePath.endsWith("/type"));
  if (typeError) return [{ ...typeError, parentSchema: undefined, message: "is not a step type (drillctl playbook explain lists them)" }];
  return errors;
}

// message is what an editor would say: the schema's own words if it has some.
function message(e) {
  const own = e.keyword === "pattern" ? e.parentSchema?.patternErrorMessage : undefined;
  const extra = e.keyword === "additionalProperties" ? ` (${e.params.additionalProperty})` : "";
  return `${e.instancePath || "/"}: ${own ?? e.parentSchema?.errorMessage ?? e.message}${extra}`;
}

// check reads one file and returns what is wrong with it: YAML errors (an
// editor shows them too, but they are not the schema's) or schema errors.
function check(path) {
  const docs = parseAllDocuments(readFileSync(path, "utf8"), { uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const yamlErrors = list.flatMap((d) => d.errors.map((e) => e.message.split("\n")[0]));
  if (yamlErrors.length > 0) {
    return { yaml: yamlErrors, schema: [] };
  }
  const schemaErrors = [];
  for (const doc of list.length > 0 ? list : [null]) {
    let value;
    try {
      value = doc === null ? null : doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      return { yaml: [e.message.split("\n")[0]], schema: [] };
    }
    if (!validate(value ?? null)) {
      schemaErrors.push(...relevant(validate.errors).map(message));
    }
  }
  return { yaml: [], schema: schemaErrors };
}

function yamlFiles(...dir) {
  return readdirSync(join(root, ...dir))
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => join(root, ...dir, f));
}

let failed = false;

const valid = [...yamlFiles("playbooks", "examples"), ...yamlFiles("schema", "check", "valid")];
let accepted = 0;
for (const f of valid) {
  const r = check(f);
  const errs = [...r.yaml, ...r.schema];
  if (errs.length === 0) {
    accepted++;
    continue;
  }
  failed = true;
  console.log(`REJECTED ${relative(root, f)} (drillctl accepts it; the schema must too):`);
  for (const e of errs) console.log(`  ${e}`);
}

const invalid = yamlFiles("playbooks", "testdata", "invalid");
let bySchema = 0;
let byYAML = 0;
const missed = [];
for (const f of invalid) {
  const name = relative(root, f);
  const r = check(f);
  if (r.schema.length > 0) {
    bySchema++;
    if (verbose) console.log(`flagged ${name}: ${r.schema[0]}`);
  } else if (r.yaml.length > 0) {
    byYAML++;
    if (verbose) console.log(`yaml    ${name}: ${r.yaml[0]}`);
  } else {
    missed.push(name);
  }
}
if (verbose && missed.length > 0) {
  console.log("not flagged (what a schema cannot say; drillctl playbook validate does):");
  for (const m of missed) console.log(`  ${m}`);
}

console.log(`valid playbooks accepted: ${accepted}/${valid.length}`);
console.log(
  `invalid playbooks flagged by the schema: ${bySchema}/${invalid.length} ` +
    `(not YAML: ${byYAML}; beyond a schema: ${missed.length}; at least ${min} required)`,
);
if (bySchema < min) {
  failed = true;
  console.log(`FAIL: the schema flags ${bySchema} invalid playbooks, fewer than ${min}`);
}
process.exit(failed ? 1 : 0);
