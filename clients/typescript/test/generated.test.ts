import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

// The committed types are what `npm run generate` makes from the gateway's OpenAPI document now.
// SKINGUARD_OPENAPI_JSON names the document (tests/clients/test_typescript_sdk.py writes it from
// create_app().openapi()); without it there is nothing to compare with.
const documentFile = process.env.SKINGUARD_OPENAPI_JSON;

test(
  "src/generated/gateway.ts is current with the gateway's OpenAPI document",
  { skip: documentFile ? false : "SKINGUARD_OPENAPI_JSON is not set" },
  async () => {
    const script = new URL("../../scripts/generate.mjs", import.meta.url).href;
    const { generateTypes, GENERATED_FILE } = (await import(script)) as {
      generateTypes: (document: unknown) => Promise<string>;
      GENERATED_FILE: string;
    };
    const expected = await generateTypes(JSON.parse(readFileSync(documentFile!, "utf8")));
    const committed = readFileSync(GENERATED_FILE, "utf8");
    assert.ok(
      committed === expected,
      "src/generated/gateway.ts is out of date: run `npm run generate` in clients/typescript",
    );
  },
);
