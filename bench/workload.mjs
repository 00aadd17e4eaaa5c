// The seeds' benchmark workload, generated deterministically (seeded PRNG): 200 flags and 10,000
// evaluation contexts, in two encodings of the same flags.
//
//   120 plain on/off flags
//    40 "customerId in a list of 4,000 ids → A, else 50/50 fractional"
//    20 three attribute rules: country in a list, plan == enterprise, email ends with a domain
//    20 multivariate 10/30/60 fractional
//
// Encodings: `inline` copies the 4,000-id list into each of the 40 list flags (~2 MB of flagd
// JSON); `segment` stores the list once under `$evaluators` and each flag references it with
// `{"$ref": "vip-customers"}`. flagd substitutes `$ref`s textually, so both mean the same thing.
//
// Usage: `node bench/workload.mjs [outDir]` writes flags-inline.json, flags-segment.json and
// contexts.json (default outDir bench/.out/workload); `generateWorkload()` returns them in memory.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SEED = 0x5eed_0003;
export const COUNTS = { plain: 120, list: 40, attribute: 20, multivariate: 20, ids: 4_000, contexts: 10_000 };
/** Share of contexts whose customerId is in the list. */
export const LIST_HIT_RATE = 0.2;
export const SEGMENT_NAME = "vip-customers";

const COUNTRIES = [
  "US",
  "CA",
  "MX",
  "BR",
  "AR",
  "GB",
  "IE",
  "FR",
  "DE",
  "NL",
  "BE",
  "ES",
  "PT",
  "IT",
  "CH",
  "AT",
  "SE",
  "NO",
  "DK",
  "FI",
  "PL",
  "CZ",
  "JP",
  "KR",
  "CN",
  "IN",
  "SG",
  "AU",
  "NZ",
  "ZA",
];
const PLANS = ["free", "starter", "pro", "enterprise"];
const DOMAINS = ["example.com", "acme.io", "globex.net", "initech.org", "umbrella.co", "hooli.com", "mail.test"];

/** mulberry32: small, fast, good enough for reproducible test data. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(random, list) {
  return list[Math.floor(random() * list.length)];
}

function customerId(random) {
  return `cust-${Math.floor(random() * 1e8)
    .toString(36)
    .padStart(6, "0")}`;
}

/**
 * Builds the workload. Returns `{ flagKeys, groups, inline, segment, contexts, ids }` where `inline`
 * and `segment` are flagd flag-set objects and `groups` maps each group name to its flag keys.
 */
export function generateWorkload(seed = SEED) {
  const random = prng(seed);
  const idSet = new Set();
  while (idSet.size < COUNTS.ids) idSet.add(customerId(random));
  const ids = [...idSet];

  const groups = { plain: [], list: [], attribute: [], multivariate: [] };
  const inlineFlags = {};
  const segmentFlags = {};
  const add = (group, key, flag, segmentFlag = flag) => {
    groups[group].push(key);
    inlineFlags[key] = flag;
    segmentFlags[key] = segmentFlag;
  };

  for (let i = 0; i < COUNTS.plain; i++) {
    add("plain", `plain-${String(i).padStart(3, "0")}`, {
      state: i % 15 === 14 ? "DISABLED" : "ENABLED",
      variants: { on: true, off: false },
      defaultVariant: random() < 0.5 ? "on" : "off",
    });
  }

  const listElse = {
    fractional: [
      ["B", 50],
      ["C", 50],
    ],
  };
  for (let i = 0; i < COUNTS.list; i++) {
    const variants = { A: "treatment-a", B: "treatment-b", C: "control" };
    add(
      "list",
      `list-${String(i).padStart(3, "0")}`,
      { state: "ENABLED", variants, defaultVariant: "C", targeting: { if: [{ in: [{ var: "customerId" }, ids] }, "A", listElse] } },
      { state: "ENABLED", variants, defaultVariant: "C", targeting: { if: [{ $ref: SEGMENT_NAME }, "A", listElse] } },
    );
  }

  for (let i = 0; i < COUNTS.attribute; i++) {
    const countries = COUNTRIES.filter(() => random() < 0.3);
    const domain = pick(random, DOMAINS);
    add("attribute", `attribute-${String(i).padStart(3, "0")}`, {
      state: "ENABLED",
      variants: { regional: "regional", enterprise: "enterprise", staff: "staff", standard: "standard" },
      defaultVariant: "standard",
      targeting: {
        if: [
          { in: [{ var: "country" }, countries] },
          "regional",
          { "==": [{ var: "plan" }, "enterprise"] },
          "enterprise",
          { ends_with: [{ var: "email" }, `@${domain}`] },
          "staff",
          "standard",
        ],
      },
    });
  }

  for (let i = 0; i < COUNTS.multivariate; i++) {
    add("multivariate", `multivariate-${String(i).padStart(3, "0")}`, {
      state: "ENABLED",
      variants: { small: 10, medium: 30, large: 60 },
      defaultVariant: "small",
      targeting: {
        fractional: [
          ["small", 10],
          ["medium", 30],
          ["large", 60],
        ],
      },
      metadata: { owner: "growth" },
    });
  }

  const metadata = { generator: "edgeflags bench/workload.mjs", seed };
  const inline = { flags: inlineFlags, metadata };
  const segment = { flags: segmentFlags, $evaluators: { [SEGMENT_NAME]: { in: [{ var: "customerId" }, ids] } }, metadata };

  const contexts = [];
  for (let i = 0; i < COUNTS.contexts; i++) {
    const hit = random() < LIST_HIT_RATE;
    let id = hit ? pick(random, ids) : customerId(random);
    while (!hit && idSet.has(id)) id = customerId(random);
    contexts.push({
      targetingKey: `user-${i}-${Math.floor(random() * 1e9).toString(36)}`,
      customerId: id,
      country: pick(random, COUNTRIES),
      plan: pick(random, PLANS),
      email: `user${i}@${pick(random, DOMAINS)}`,
    });
  }

  return { flagKeys: Object.keys(inlineFlags), groups, inline, segment, contexts, ids };
}

/** Writes the workload as JSON files; returns their paths and the sizes of the two encodings. */
export function writeWorkload(outDir, seed = SEED) {
  const workload = generateWorkload(seed);
  mkdirSync(outDir, { recursive: true });
  const files = {
    inline: join(outDir, "flags-inline.json"),
    segment: join(outDir, "flags-segment.json"),
    contexts: join(outDir, "contexts.json"),
    meta: join(outDir, "meta.json"),
  };
  const inlineText = JSON.stringify(workload.inline);
  const segmentText = JSON.stringify(workload.segment);
  writeFileSync(files.inline, inlineText);
  writeFileSync(files.segment, segmentText);
  writeFileSync(files.contexts, JSON.stringify(workload.contexts));
  const idSet = new Set(workload.ids);
  const hits = workload.contexts.filter((c) => idSet.has(c.customerId)).length;
  const meta = {
    seed,
    flags: workload.flagKeys.length,
    groups: Object.fromEntries(Object.entries(workload.groups).map(([k, v]) => [k, v.length])),
    groupKeys: workload.groups,
    contexts: workload.contexts.length,
    listHitRate: hits / workload.contexts.length,
    bytes: { inline: Buffer.byteLength(inlineText), segment: Buffer.byteLength(segmentText) },
  };
  writeFileSync(files.meta, JSON.stringify(meta, null, 2));
  return { files, meta };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".out", "workload");
  const { meta } = writeWorkload(outDir);
  console.log(JSON.stringify({ ...meta, groupKeys: undefined }, null, 2));
}
